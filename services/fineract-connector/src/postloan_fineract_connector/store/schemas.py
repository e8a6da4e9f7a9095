"""The schema store: Fineract's `.avsc` files per supported release, shipped as data in this package."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from postloan_fineract_connector.domain.avro import SchemaStore, load_definitions

# Oldest first: a fingerprint shared by several releases is attributed to the first.
RELEASES: tuple[str, ...] = ("1.9.0", "1.10.1", "1.12.1", "1.13.0")
# The writer schemas the connector decodes; other payloads are skipped without decoding.
SCHEMAS: tuple[str, ...] = (
    "org.apache.fineract.avro.MessageV1",
    "org.apache.fineract.avro.BulkMessagePayloadV1",
    "org.apache.fineract.avro.loan.v1.LoanAccountDataV1",
    "org.apache.fineract.avro.loan.v1.LoanTransactionDataV1",
    "org.apache.fineract.avro.loan.v1.LoanTransactionAdjustmentDataV1",
    "org.apache.fineract.avro.client.v1.ClientDataV1",
)


def release_texts(release: str) -> dict[str, str]:
    """The `.avsc` texts of one release, by file name."""
    folder = resources.files("postloan_fineract_connector") / "schemas" / release
    return {entry.name: entry.read_text("utf-8") for entry in folder.iterdir() if entry.name.endswith(".avsc")}


def release_bigdecimal(release: str) -> dict[str, Any]:
    """The release's `bigdecimal` macro template (fineract-avro-schemas/src/main/resources/avro-templates)."""
    folder = resources.files("postloan_fineract_connector") / "schemas" / release
    template = json.loads((folder / "bigdecimal.json").read_text("utf-8"))
    assert isinstance(template, dict)
    return template


@cache
def load_store() -> SchemaStore:
    """Every supported release's writer schemas by fingerprint (read once per process)."""
    store = SchemaStore()
    for release in RELEASES:
        store.add_release(release, load_definitions(release_texts(release)), SCHEMAS, release_bigdecimal(release))
    return store
