"""fineract-connector: Fineract records decoded and mapped per second in one process.

The workload is a COB-like mix of Fineract records encoded from the real schemas: half repayments,
a tenth disbursals (LoanAccountDataV1 with its schedule), the rest informational events the
connector skips. Beside it, the raw ceiling: fastavro decoding the same values and nothing else.
"""

from __future__ import annotations

import io
import time

import fastavro

from bench.report import Result
from postloan_dev.fineract_records import fineract_records
from postloan_fineract_connector.domain.avro import HEADER_LENGTH
from postloan_fineract_connector.domain.mapping import MappingOptions, classify, map_message
from postloan_fineract_connector.domain.messages import read_message

TARGET = 5000.0  # issue 18: Fineract messages per second in one worker


def _workload(n: int) -> list[bytes]:
    r = fineract_records()
    values: list[bytes] = []
    for i in range(n):
        if i % 10 < 5:
            values.append(r.message("LoanTransactionMakeRepaymentPostBusinessEvent", r.TXN, r.transaction(txn=i)))
        elif i % 10 == 5:
            values.append(r.message("LoanDisbursalBusinessEvent", r.LOAN, r.loan_account(loan=i)))
        else:
            values.append(r.message("LoanRepaymentDueBusinessEvent", r.LOAN, r.loan_account(loan=i)))
    return values


def _raw_decode(values: list[bytes]) -> float:
    """Seconds fastavro alone takes to read every MessageV1 and the payloads the connector reads."""
    store = fineract_records().store
    schemas = store.by_fingerprint
    options = MappingOptions()
    start = time.perf_counter()
    for raw in values:
        message = fastavro.schemaless_reader(
            io.BytesIO(raw[HEADER_LENGTH:]), schemas[int.from_bytes(raw[2:HEADER_LENGTH], "little")].parsed, None
        )
        if classify(message["type"], options) == "mapped":
            data = message["data"]
            schema = schemas[int.from_bytes(data[2:HEADER_LENGTH], "little")].parsed
            fastavro.schemaless_reader(io.BytesIO(data[HEADER_LENGTH:]), schema, None)
    return time.perf_counter() - start


async def run(*, scale: float = 1.0) -> list[Result]:
    """Decode-and-map throughput beside fastavro's raw decoding of the same values."""
    values = _workload(max(100, int(5000 * scale)))
    options = MappingOptions()

    def wanted(event_type: str) -> bool:
        return classify(event_type, options) == "mapped"

    start = time.perf_counter()
    produced = sum(len(map_message(read_message(raw, fineract_records().store, wanted), options)) for raw in values)
    ours = time.perf_counter() - start
    raw_s = _raw_decode(values)
    return [
        Result(
            name="fineract decode + map",
            value=len(values) / ours,
            unit="msg/s",
            ceiling_name="fastavro decode alone",
            ceiling=len(values) / raw_s,
            detail=f"{len(values)} records (50% repayments, 10% disbursals, 40% skipped), {produced} envelopes; "
            f"target {TARGET:.0f} msg/s",
        )
    ]
