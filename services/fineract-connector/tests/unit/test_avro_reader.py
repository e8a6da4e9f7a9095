"""The generated reader against fastavro: the same values from the same bytes, for every stored schema."""

from __future__ import annotations

import io
import random
from decimal import Decimal

import fastavro
import pytest

from postloan_fineract_connector.domain import avro
from postloan_fineract_connector.domain.avro_reader import AvroBodyError, compile_reader
from postloan_fineract_connector.store.schemas import load_store

# Every Avro type the generated reader handles, named types referred to by name after their definition.
EVERYTHING = {
    "type": "record",
    "name": "Outer",
    "namespace": "t.v1",
    "fields": [
        {"name": "flag", "type": "boolean"},
        {"name": "small", "type": "int"},
        {"name": "big", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "raw", "type": "bytes"},
        {"name": "text", "type": ["null", "string"]},
        {"name": "colour", "type": {"type": "enum", "name": "Colour", "symbols": ["RED", "GREEN", "BLUE"]}},
        {"name": "again", "type": ["null", "Colour"]},
        {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}},
        {"name": "amount", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 16, "scale": 2}]},
        {
            "name": "inner",
            "type": {
                "type": "record",
                "name": "Inner",
                "fields": [
                    {"name": "n", "type": ["null", "long"]},
                    {"name": "tags", "type": {"type": "array", "items": "string"}},
                ],
            },
        },
        {"name": "more", "type": {"type": "array", "items": "t.v1.Inner"}},
        {"name": "attrs", "type": ["null", {"type": "map", "values": ["null", "Inner"]}]},
        {"name": "third", "type": ["string", "null", "long"]},
    ],
}


def _random(schema, named, rng: random.Random, depth: int = 0):
    """A random value of `schema`; past a depth unions take null and arrays are empty (Fineract's nest)."""
    if isinstance(schema, list):
        options = [b for b in schema if b != "null"] if depth < 6 and rng.random() < 0.6 else schema
        return _random(
            rng.choice(options if depth < 6 else (["null"] if "null" in schema else schema)), named, rng, depth
        )
    if isinstance(schema, str):
        primitives = {
            "null": lambda: None,
            "boolean": lambda: rng.random() < 0.5,
            "int": lambda: rng.randint(-(2**31), 2**31 - 1),
            "long": lambda: rng.choice([0, -1, 63, -64, 64, 2**40, -(2**63), 2**63 - 1, rng.randint(-999, 999)]),
            "float": lambda: rng.choice([0.0, 1.5, -2.25]),
            "double": lambda: rng.random() * 1e6,
            "bytes": lambda: rng.randbytes(rng.randint(0, 12)),
            "string": lambda: rng.choice(["", "a", "Zürich", "日本", "x" * 200]),
        }
        if schema in primitives:
            return primitives[schema]()
        return _random(named[schema], named, rng, depth)
    kind = schema["type"]
    if kind == "record":
        return {f["name"]: _random(f["type"], named, rng, depth + 1) for f in schema["fields"]}
    if kind == "enum":
        return rng.choice(schema["symbols"])
    if kind == "fixed":
        return rng.randbytes(schema["size"])
    if kind == "array":
        return [_random(schema["items"], named, rng, depth + 1) for _ in range(rng.randint(0, 3) if depth < 6 else 0)]
    if kind == "map":
        count = rng.randint(0, 3) if depth < 6 else 0
        return {f"k{n}": _random(schema["values"], named, rng, depth + 1) for n in range(count)}
    if schema.get("logicalType") == "decimal":
        return rng.choice([rng.randbytes(rng.randint(0, 12)), Decimal(rng.randint(-(10**12), 10**12)).scaleb(-2)])
    return _random(kind, named, rng, depth)


def generate_many(parsed, count: int, seed: int = 18):
    rng = random.Random(seed)
    named = parsed.get("__named_schemas", {}) if isinstance(parsed, dict) else {}
    return [_random(parsed, named, rng) for _ in range(count)]


def _fastavro(schema, body: bytes):
    return fastavro.schemaless_reader(io.BytesIO(body), fastavro.parse_schema(schema), None)


def _write(schema, record) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return out.getvalue()


def _same(ours, theirs) -> None:
    assert ours == theirs
    assert repr(ours) == repr(theirs)  # decimals with the same exponent, no bool/int confusion


@pytest.mark.parametrize("stored", list(load_store().by_fingerprint.values()), ids=lambda s: f"{s.release}-{s.name}")
def test_every_stored_schema_reads_as_fastavro_reads_it(stored):
    assert stored.reader is not None
    for record in generate_many(stored.parsed, 15):
        body = _write(stored.parsed, record)
        value, end = stored.reader(body, 0)
        assert end == len(body)
        _same(value, _fastavro(stored.parsed, body))


def test_every_type_reads_as_fastavro_reads_it():
    reader = compile_reader(EVERYTHING)
    for record in generate_many(fastavro.parse_schema(EVERYTHING), 200):
        body = _write(EVERYTHING, record)
        value, end = reader(b"xx" + body, 2)
        assert end == len(body) + 2
        _same(value, _fastavro(EVERYTHING, body))


def test_decimals_round_to_the_precision_exactly_as_fastavro():
    schema = {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 8}
    reader = compile_reader(schema)
    rng = random.Random(18)
    for _ in range(300):
        body = _write("bytes", rng.randbytes(rng.randint(0, 14)))
        _same(reader(body, 0)[0], _fastavro(schema, body))
    assert reader(_write(schema, Decimal("3000.00000000")), 0)[0] == Decimal("3000.00000000")


def test_arrays_and_maps_in_several_blocks_with_byte_sizes():
    schema = {"type": "array", "items": "long"}
    # count -2 (a byte size follows), size 2, items 1 and 2; count 1, item 3; count 0.
    body = bytes([0x03, 0x04, 0x02, 0x04, 0x02, 0x06, 0x00])
    assert compile_reader(schema)(body, 0) == ([1, 2, 3], len(body)) == (_fastavro(schema, body), len(body))
    schema = {"type": "map", "values": "int"}
    body = bytes([0x01, 0x04, 0x02, ord("a"), 0x02, 0x02, 0x02, ord("b"), 0x04, 0x00])
    assert compile_reader(schema)(body, 0)[0] == {"a": 1, "b": 2} == _fastavro(schema, body)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (bytes([0x04]), AvroBodyError),  # union index 2 of a two-branch union
        (bytes([0x02, 0x0A, ord("a")]), AvroBodyError),  # a string of 5 bytes with one there
        (bytes([0x02, 0x01]), AvroBodyError),  # a negative length
        (bytes([0x02]), IndexError),  # cut short
    ],
)
def test_malformed_bodies_raise(body, error):
    with pytest.raises(error):
        compile_reader(["null", "string"])(body, 0)


def test_a_truncated_payload_is_a_decode_error_at_every_length(records):
    raw = records.payload(records.LOAN, records.loan_account(), "1.13.0")
    for cut in range(avro.HEADER_LENGTH, len(raw)):
        with pytest.raises(avro.DecodeError):
            records.store.decode(raw[:cut])


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "logicalType": "uuid"},
        {"type": "fixed", "name": "Amount", "size": 8, "logicalType": "decimal", "precision": 18, "scale": 2},
        {"type": "long", "logicalType": "timestamp-millis"},
    ],
)
def test_logical_types_it_does_not_know_are_left_to_fastavro(schema):
    with pytest.raises(NotImplementedError):
        compile_reader(schema)
    assert avro._reader_for(schema) is None


def test_a_schema_nested_deeper_than_python_compiles_is_read_by_fastavro():
    schema: object = "long"
    for _ in range(30):  # 30 arrays in one function: more nested loops than CPython compiles
        schema = {"type": "array", "items": schema}
    assert avro._reader_for(schema) is None
    stored = avro.StoredSchema("deep", "test", 0, fastavro.parse_schema(schema), schema)
    body = _write(schema, [[[]]])
    assert stored.read(body, 0) == ([[[]]], len(body))


@pytest.mark.parametrize("release", ["1.10.1", "1.13.0"])
def test_corrupted_payloads_decode_or_are_decode_errors(records, release):
    rng = random.Random(release)
    originals = [
        records.payload(records.LOAN, records.loan_account(), release),
        records.payload(records.TXN, records.transaction(), release),
        records.payload(records.CLIENT, records.client(), release),
    ]
    outcomes = set()
    for raw in originals:
        for _ in range(150):
            mutated = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                mutated[rng.randrange(avro.HEADER_LENGTH, len(mutated))] = rng.randrange(256)
            try:
                records.store.decode(bytes(mutated))
                outcomes.add("decoded")
            except avro.DecodeError:
                outcomes.add("refused")
    assert outcomes == {"decoded", "refused"}  # both happen; nothing else escapes
