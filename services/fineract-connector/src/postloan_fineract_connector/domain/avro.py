"""Avro single-object encoding as Fineract writes it: a schema store keyed by CRC-64-AVRO fingerprint.

A value is `C3 01`, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's parsing
canonical form, then the Avro binary body (Avro specification, "Single-object encoding"). Fineract's
`.avsc` files refer to each other by full name and use `"bigdecimal"`, a build-time macro for
`bytes` with logical type decimal (precision 20 up to 2024, 27 since, scale 8; the template is
each release's `bigdecimal.json`); a schema is fingerprinted as the build expands it.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from postloan_fineract_connector.domain.avro_reader import AvroBodyError, Reader, compile_reader

MAGIC = b"\xc3\x01"
HEADER_LENGTH = 10
BIGDECIMAL: dict[str, Any] = {"type": "bytes", "logicalType": "decimal", "precision": 20, "scale": 8}
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_EMPTY = 0xC15D213AA4D7A795  # the CRC-64-AVRO initial value: the fingerprint of no bytes


class DecodeError(ValueError):
    """A value that cannot be decoded; the message is a dead letter's reason and carries no input values."""


class UnknownFingerprint(DecodeError):
    """A single-object value written with a schema the store does not hold."""


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp)
    return tuple(table)


_TABLE = _crc_table()


def crc64_avro(data: bytes) -> int:
    """The CRC-64-AVRO fingerprint of `data` (the Avro specification's reference algorithm)."""
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


def expand(name: str, definitions: Mapping[str, Any], bigdecimal: Mapping[str, Any] = BIGDECIMAL) -> Any:
    """The self-contained schema of `name`: each named type inlined at its first use, by name after."""
    seen: set[str] = set()

    def walk(node: Any, namespace: str) -> Any:
        if isinstance(node, str):
            if node == "bigdecimal":
                return dict(bigdecimal)
            if node in _PRIMITIVES:
                return node
            full = node if "." in node else f"{namespace}.{node}"
            if full in seen:
                return full
            if full not in definitions:
                raise KeyError(f"schema {name} refers to {full}, which the store does not hold")
            return walk(definitions[full], namespace)
        if isinstance(node, list):
            return [walk(branch, namespace) for branch in node]
        kind = node.get("type")
        if kind in ("record", "error", "enum", "fixed"):
            space = node.get("namespace", namespace)
            full = node["name"] if "." in node["name"] else f"{space}.{node['name']}"
            seen.add(full)
            if kind in ("record", "error"):
                fields = [{**f, "type": walk(f["type"], space)} for f in node["fields"]]
                return {**node, "fields": fields}
            return dict(node)
        if kind == "array":
            return {**node, "items": walk(node["items"], namespace)}
        if kind == "map":
            return {**node, "values": walk(node["values"], namespace)}
        return {**node, "type": walk(kind, namespace)}

    return walk(definitions[name], "")


def canonical_form(schema: Any) -> str:
    """The parsing canonical form of a self-contained schema (what the fingerprint is taken of)."""
    return str(to_parsing_canonical_form(fastavro.parse_schema(schema, _write_hint=False)))


def schema_fingerprint(schema: Any) -> int:
    """The CRC-64-AVRO fingerprint of `schema`'s parsing canonical form, as an unsigned 64-bit integer."""
    return crc64_avro(canonical_form(schema).encode())


@dataclass(frozen=True)
class StoredSchema:
    name: str
    release: str
    fingerprint: int
    parsed: Any = field(repr=False, compare=False)
    expanded: Any = field(default=None, repr=False, compare=False)

    @cached_property
    def reader(self) -> Reader | None:
        """The generated reader, compiled on first use (a wide schema takes a fraction of a second)."""
        return None if self.expanded is None else _reader_for(self.expanded)

    def read(self, raw: bytes, start: int) -> tuple[Any, int]:
        """The value whose body starts at `start`, and where it ends (the generated reader, else fastavro)."""
        if self.reader is not None:
            return self.reader(raw, start)
        body = io.BytesIO(raw)
        body.seek(start)
        return fastavro.schemaless_reader(body, self.parsed, None), body.tell()


@dataclass
class SchemaStore:
    """Writer schemas by fingerprint, for every Fineract release the connector supports."""

    by_fingerprint: dict[int, StoredSchema] = field(default_factory=dict)
    by_release: dict[tuple[str, str], int] = field(default_factory=dict)

    def add_release(
        self,
        release: str,
        definitions: Mapping[str, Any],
        names: tuple[str, ...],
        bigdecimal: Mapping[str, Any] = BIGDECIMAL,
    ) -> None:
        """Add the schemas `names` of one release, expanded from that release's `definitions`."""
        for name in names:
            schema = expand(name, definitions, bigdecimal)
            fp = schema_fingerprint(schema)
            # fastavro's fingerprint (the wire bytes, in hex) is a second, independent computation.
            if fingerprint(canonical_form(schema), "CRC-64-AVRO") != fp.to_bytes(8, "little").hex():
                raise ValueError(f"CRC-64-AVRO of {name} disagrees with fastavro's")
            self.by_release[(release, name)] = fp
            if fp not in self.by_fingerprint:
                parsed = fastavro.parse_schema(schema)
                self.by_fingerprint[fp] = StoredSchema(name, release, fp, parsed, schema)

    def schema(self, name: str, release: str) -> StoredSchema:
        """The schema of `name` as `release` writes it."""
        return self.by_fingerprint[self.by_release[(release, name)]]

    def decode(self, raw: bytes, *, expected: str | None = None) -> tuple[StoredSchema, dict[str, Any]]:
        """Decode one single-object value; `expected` is the full name the writer must have used."""
        if len(raw) < HEADER_LENGTH or raw[:2] != MAGIC:
            raise DecodeError("not Avro single-object encoding (no C3 01 marker)")
        fp = int.from_bytes(raw[2:HEADER_LENGTH], "little")
        stored = self.by_fingerprint.get(fp)
        if stored is None:
            hint = f" (dataschema {expected})" if expected else ""
            raise UnknownFingerprint(f"unknown Avro schema fingerprint {fp:016x}{hint}: no supported release has it")
        if expected is not None and stored.name != expected:
            raise DecodeError(f"fingerprint {fp:016x} is {stored.name}, not the announced {expected}")
        try:
            record, end = stored.read(raw, HEADER_LENGTH)
        except (AvroBodyError, EOFError, ValueError, IndexError, TypeError, struct.error) as exc:
            # IndexError: a body cut short (or an enum index out of range); UnicodeDecodeError is a ValueError.
            raise DecodeError(f"corrupt Avro body for {stored.name}: {type(exc).__name__}") from None
        if end != len(raw):
            raise DecodeError(f"{len(raw) - end} trailing bytes after the {stored.name} body")
        if not isinstance(record, dict):
            raise DecodeError(f"{stored.name} did not decode to a record")
        return stored, record


def _reader_for(schema: Any) -> Reader | None:
    """The generated reader of `schema`, or None where fastavro must read it (a logical type other than
    decimal, or nesting deeper than Python compiles: SyntaxError, RecursionError)."""
    try:
        return compile_reader(schema)
    except (NotImplementedError, SyntaxError, RecursionError):
        return None


def encode(schema: StoredSchema, record: Mapping[str, Any]) -> bytes:
    """Single-object-encode `record` with `schema` (the operator tool and tests write what Fineract writes)."""
    body = io.BytesIO()
    fastavro.schemaless_writer(body, schema.parsed, dict(record))
    return MAGIC + schema.fingerprint.to_bytes(8, "little") + body.getvalue()


def load_definitions(texts: Mapping[str, str]) -> dict[str, Any]:
    """Named-type definitions from `.avsc` texts, keyed by full name."""
    definitions: dict[str, Any] = {}
    for text in texts.values():
        schema = json.loads(text)
        definitions[f"{schema['namespace']}.{schema['name']}"] = schema
    return definitions
