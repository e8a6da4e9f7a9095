"""The schema store against Apache Fineract itself: each stored schema's fingerprint as the real build makes it.

FINGERPRINTS was recorded from apache/fineract's own sources (fineract-avro-schemas/src/main/avro at the
commits in SOURCES, the `bigdecimal` macro of that commit's build.gradle expanded, the CRC-64-AVRO of the
parsing canonical form), not from the files in this package; the service README says how.
"""

from __future__ import annotations

import pytest
from fastavro.schema import fingerprint

from postloan_fineract_connector.domain import avro
from postloan_fineract_connector.domain.avro import load_definitions
from postloan_fineract_connector.store.schemas import RELEASES, SCHEMAS, release_bigdecimal, release_texts

NS = "org.apache.fineract.avro"
# release -> the apache/fineract commit its files were read at (tag, or the release branch's tip).
SOURCES = {
    "1.9.0": "5d96e8cc32ff63f97d5ac15e19c6fafee0c31357",  # tag 1.9.0
    "1.10.1": "227bdf6e4f0d271e19193fe6f9d59f36720a772a",  # tag 1.10.1 (1.10.0 has the same fingerprints)
    # release/1.12.1 as merged into develop: a vote-result doc commit on develop c84ba089f of 2025-07-21
    "1.12.1": "97aa931a5981ef2ed7cf8979be28d4aa62982df4",
    # release/1.13.0 as merged into develop; release/1.14.0 (9977fb3fcbaf) has the same files
    "1.13.0": "826608f6ccc7520d601bbbd53ee93c8eb97e07c6",
}
FINGERPRINTS: dict[str, dict[str, str]] = {
    "1.9.0": {
        f"{NS}.MessageV1": "26786c22cc7bd01f",
        f"{NS}.BulkMessagePayloadV1": "c90acce3d1fedec4",
        f"{NS}.loan.v1.LoanAccountDataV1": "8035ff465c813c69",
        f"{NS}.loan.v1.LoanTransactionDataV1": "23165921b6c13c4c",
        f"{NS}.loan.v1.LoanTransactionAdjustmentDataV1": "11a64e980f436153",
        f"{NS}.client.v1.ClientDataV1": "65b866a816c68d56",
    },
    "1.10.1": {
        f"{NS}.MessageV1": "26786c22cc7bd01f",
        f"{NS}.BulkMessagePayloadV1": "c90acce3d1fedec4",
        f"{NS}.loan.v1.LoanAccountDataV1": "3564a465b9f86438",
        f"{NS}.loan.v1.LoanTransactionDataV1": "23165921b6c13c4c",
        f"{NS}.loan.v1.LoanTransactionAdjustmentDataV1": "11a64e980f436153",
        f"{NS}.client.v1.ClientDataV1": "65b866a816c68d56",
    },
    "1.12.1": {
        f"{NS}.MessageV1": "4867626629bf1ac1",
        f"{NS}.BulkMessagePayloadV1": "f264875b1b998776",
        f"{NS}.loan.v1.LoanAccountDataV1": "ca19138be52614f0",
        f"{NS}.loan.v1.LoanTransactionDataV1": "92b6c809e57f9756",
        f"{NS}.loan.v1.LoanTransactionAdjustmentDataV1": "5a82d7eb4dd2ec18",
        f"{NS}.client.v1.ClientDataV1": "65b866a816c68d56",
    },
    "1.13.0": {
        f"{NS}.MessageV1": "4867626629bf1ac1",
        f"{NS}.BulkMessagePayloadV1": "f264875b1b998776",
        f"{NS}.loan.v1.LoanAccountDataV1": "3288e80dadbe8927",
        f"{NS}.loan.v1.LoanTransactionDataV1": "f31d6f9d83188d43",
        f"{NS}.loan.v1.LoanTransactionAdjustmentDataV1": "f8f401b8054f595b",
        f"{NS}.client.v1.ClientDataV1": "65b866a816c68d56",
    },
}
# The macro's precision (not part of the canonical form, so not of the fingerprint): 27 since 2025-02.
PRECISION = {"1.9.0": 20, "1.10.1": 20, "1.12.1": 27, "1.13.0": 27}


def test_the_table_covers_every_stored_release_and_schema():
    assert set(FINGERPRINTS) == set(RELEASES) == set(SOURCES)
    assert all(set(table) == set(SCHEMAS) for table in FINGERPRINTS.values())


@pytest.mark.parametrize("release", RELEASES)
def test_each_stored_schema_fingerprints_as_the_real_release(release):
    definitions = load_definitions(release_texts(release))
    macro = release_bigdecimal(release)
    for name in SCHEMAS:
        form = avro.canonical_form(avro.expand(name, definitions, macro))
        ours = avro.crc64_avro(form.encode())
        theirs = int.from_bytes(bytes.fromhex(fingerprint(form, "CRC-64-AVRO")), "little")
        assert f"{ours:016x}" == f"{theirs:016x}" == FINGERPRINTS[release][name], name


@pytest.mark.parametrize("release", RELEASES)
def test_the_bigdecimal_macro_is_the_release_template(release):
    assert release_bigdecimal(release) == {
        "type": "bytes",
        "logicalType": "decimal",
        "precision": PRECISION[release],
        "scale": 8,
    }


def test_the_store_serves_the_recorded_fingerprints(records):
    for release, table in FINGERPRINTS.items():
        for name, hex_fp in table.items():
            assert f"{records.store.schema(name, release).fingerprint:016x}" == hex_fp


def test_message_id_is_int_before_2025_and_long_since():
    for release in RELEASES:
        message = load_definitions(release_texts(release))[f"{NS}.MessageV1"]
        kind = next(f["type"] for f in message["fields"] if f["name"] == "id")
        assert kind == ("int" if release in ("1.9.0", "1.10.1") else "long"), release
