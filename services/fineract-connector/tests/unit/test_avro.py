"""Single-object decoding and CRC-64-AVRO fingerprints against the real Fineract schemas."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from fastavro.schema import fingerprint

from postloan_fineract_connector.domain import avro
from postloan_fineract_connector.domain.avro import load_definitions
from postloan_fineract_connector.domain.messages import parse_key, read_message
from postloan_fineract_connector.store.schemas import RELEASES, SCHEMAS, release_bigdecimal, release_texts


def everything(_type: str) -> bool:
    return True


def test_crc64_avro_matches_the_specification_vector_and_fastavro():
    # The Avro specification's test vector: the fingerprint of the schema "null".
    assert avro.crc64_avro(b'"null"') == 7195948357588979594
    assert fingerprint('"null"', "CRC-64-AVRO") == (7195948357588979594).to_bytes(8, "little").hex()


def test_bigdecimal_expands_to_decimal_20_8_and_fingerprints_as_bytes():
    definitions = load_definitions(release_texts("1.10.1"))
    schema = avro.expand("org.apache.fineract.avro.generic.v1.CurrencyDataV1", definitions)
    loan = avro.expand("org.apache.fineract.avro.loan.v1.LoanAccountDataV1", definitions)
    principal = next(f for f in loan["fields"] if f["name"] == "principal")
    assert principal["type"][1] == avro.BIGDECIMAL
    assert principal["type"][1] == release_bigdecimal("1.10.1")
    assert "logicalType" not in avro.canonical_form(loan)  # logical types are not part of the canonical form
    assert avro.canonical_form(schema).startswith('{"name":"org.apache.fineract.avro.generic.v1.CurrencyDataV1"')


def test_a_named_type_is_inlined_once_then_referenced_by_name():
    definitions = load_definitions(release_texts("1.10.1"))
    form = avro.canonical_form(avro.expand("org.apache.fineract.avro.loan.v1.LoanAccountDataV1", definitions))
    assert form.count('"name":"org.apache.fineract.avro.generic.v1.CurrencyDataV1","type":"record"') == 1
    assert form.count('"org.apache.fineract.avro.generic.v1.CurrencyDataV1"') > 1


def test_every_release_holds_every_schema_and_the_lines_differ(records):
    store = records.store
    for release in RELEASES:
        for name in SCHEMAS:
            assert store.schema(name, release).name == name
    message = "org.apache.fineract.avro.MessageV1"
    assert store.schema(message, "1.10.1").fingerprint != store.schema(message, "1.12.1").fingerprint
    loan = records.LOAN
    assert len({store.schema(loan, r).fingerprint for r in RELEASES}) == len(RELEASES)  # "V1" changed in place


@pytest.mark.parametrize("release", RELEASES)
def test_message_decodes_with_its_release_int_or_long_id(records, release):
    long_id = release not in ("1.9.0", "1.10.1")  # MessageV1.id: int before 2025 (FINERACT-1971), long since
    big_id = 2**40 if long_id else 2**31 - 1
    raw = records.message(
        "LoanDisbursalBusinessEvent", records.LOAN, records.loan_account(), release=release, message_id=big_id
    )
    assert raw[:2] == b"\xc3\x01"
    message = read_message(raw, records.store, everything)
    assert message.id == big_id
    assert message.release == records.store.schema("org.apache.fineract.avro.MessageV1", release).release
    (event,) = message.events
    assert event.release == release
    assert event.payload["principal"] == D("3000.00000000")


def test_int_and_long_id_lines_carry_different_fingerprints(records):
    old = records.message("X", records.CLIENT, records.client(), release="1.10.1", key="k")
    new = records.message("X", records.CLIENT, records.client(), release="1.13.0", key="k")
    assert old[2:10] != new[2:10]
    assert read_message(old, records.store, everything).idempotency_key == "k"
    assert read_message(new, records.store, everything).idempotency_key == "k"


def test_unknown_fingerprint_is_named(records):
    raw = bytearray(records.message("ClientCreateBusinessEvent", records.CLIENT, records.client()))
    raw[2:10] = (0x0123456789ABCDEF).to_bytes(8, "little")
    with pytest.raises(avro.UnknownFingerprint, match="0123456789abcdef"):
        read_message(bytes(raw), records.store, everything)


def test_unknown_payload_fingerprint_is_named_with_its_dataschema(records):
    payload = b"\xc3\x01" + (0xFEEDFACECAFEBEEF).to_bytes(8, "little") + b"\x00"
    raw = records.message("ClientCreateBusinessEvent", records.CLIENT, {}, raw_data=payload)
    with pytest.raises(avro.UnknownFingerprint, match=r"feedfacecafebeef.*ClientDataV1"):
        read_message(raw, records.store, everything)


def test_unwanted_payloads_are_not_decoded(records):
    payload = b"\xc3\x01" + (0xFEEDFACECAFEBEEF).to_bytes(8, "little")
    raw = records.message("LoanRepaymentDueBusinessEvent", "x.y.LoanRepaymentDueDataV1", {}, raw_data=payload)
    (event,) = read_message(raw, records.store, lambda t: False).events
    assert event.payload is None
    assert event.type == "LoanRepaymentDueBusinessEvent"


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda raw: b"{}" + raw[2:], "no C3 01"),
        (lambda raw: raw[:12], "corrupt"),
        (lambda raw: raw + b"\x00", "trailing"),
        (lambda raw: raw[:5], "no C3 01"),
    ],
)
def test_malformed_values_raise_decode_errors(records, mangle, reason):
    raw = records.message("ClientCreateBusinessEvent", records.CLIENT, records.client())
    with pytest.raises(avro.DecodeError, match=reason):
        read_message(mangle(raw), records.store, everything)


def test_announced_schema_must_match_the_fingerprint(records):
    raw = records.message(
        "ClientCreateBusinessEvent",
        records.CLIENT,
        {},
        raw_data=records.payload(records.TXN, records.transaction(), "1.10.1"),
    )
    with pytest.raises(avro.DecodeError, match="not the announced"):
        read_message(raw, records.store, everything)


def test_bulk_message_unwraps_each_item_by_its_own_schema(records):
    raw = records.bulk(
        [
            ("LoanTransactionMakeRepaymentPostBusinessEvent", records.TXN, records.transaction()),
            ("LoanDisbursalBusinessEvent", records.LOAN, records.loan_account()),
        ],
        release="1.13.0",
    )
    message = read_message(raw, records.store, everything)
    assert [e.type for e in message.events] == [
        "LoanTransactionMakeRepaymentPostBusinessEvent",
        "LoanDisbursalBusinessEvent",
    ]
    assert message.events[0].payload["amount"] == D("1010")


def test_long_serializer_keys():
    assert parse_key((7).to_bytes(8, "big")) == 7
    assert parse_key((-2).to_bytes(8, "big", signed=True)) == -2
    assert parse_key(b"7") is None
    assert parse_key(None) is None
