"""fineract-connector: Fineract records decoded and mapped per second in one process.

The workload is a COB-like mix of Fineract records encoded from the real schemas: half repayments,
a tenth disbursals (LoanAccountDataV1 with its schedule), the rest informational events the
connector skips. Each record goes the worker's way: the consumer's decoder (MessageV1, the payloads
of mapped types, the carrier envelope), then the mapping to core-banking envelopes; only the database
writes (one set-based insert per batch) are left out. Beside it, the raw ceiling: the same values
decoded and nothing else, with the connector's generated readers; fastavro's decoding of them is
printed in the detail for comparison.
"""

from __future__ import annotations

import io
import time

import fastavro
from aiokafka import ConsumerRecord

from bench.report import Result
from postloan_dev.fineract_records import fineract_records
from postloan_fineract_connector.consumers import decoder
from postloan_fineract_connector.domain.avro import HEADER_LENGTH
from postloan_fineract_connector.domain.mapping import MappingOptions, classify, map_message

TARGET = 5000.0  # issue 18: Fineract messages per second in one worker


def _workload(n: int) -> list[bytes]:
    r = fineract_records()
    values: list[bytes] = []
    for i in range(n):
        release = ("1.10.1", "1.13.0")[i % 2]  # both lines, as a fleet mid-upgrade sends them
        if i % 10 < 5:
            txn = r.transaction(txn=i)
            values.append(r.message("LoanTransactionMakeRepaymentPostBusinessEvent", r.TXN, txn, release=release))
        elif i % 10 == 5:
            values.append(r.message("LoanDisbursalBusinessEvent", r.LOAN, r.loan_account(loan=i), release=release))
        else:
            values.append(r.message("LoanRepaymentDueBusinessEvent", r.LOAN, r.loan_account(loan=i), release=release))
    return values


def _records(values: list[bytes]) -> list[ConsumerRecord]:
    key = (7).to_bytes(8, "big")
    return [ConsumerRecord("external-events", 0, n, 0, 0, key, v, None, 8, len(v), ()) for n, v in enumerate(values)]


def _decode_alone(values: list[bytes], read) -> float:
    """Seconds `read(stored, raw)` takes for every MessageV1 and the payloads the connector reads."""
    schemas = fineract_records().store.by_fingerprint
    options = MappingOptions()
    start = time.perf_counter()
    for raw in values:
        message = read(schemas[int.from_bytes(raw[2:HEADER_LENGTH], "little")], raw)
        if classify(message["type"], options) == "mapped":
            data = message["data"]
            read(schemas[int.from_bytes(data[2:HEADER_LENGTH], "little")], data)
    return time.perf_counter() - start


def _generated(stored, raw: bytes):
    return stored.read(raw, HEADER_LENGTH)[0]


def _fastavro(stored, raw: bytes):
    return fastavro.schemaless_reader(io.BytesIO(raw[HEADER_LENGTH:]), stored.parsed, None)


async def run(*, scale: float = 1.0) -> list[Result]:
    """Decode-and-map throughput beside the same values decoded alone."""
    values = _workload(max(100, int(5000 * scale)))
    records = _records(values)
    options = MappingOptions()
    decode = decoder(options)
    for stored in fineract_records().store.by_fingerprint.values():
        _ = stored.reader  # compiled on first use: a running worker has them after its first records
    start = time.perf_counter()
    produced = sum(len(map_message(decode(record).data["message"], options)) for record in records)
    ours = time.perf_counter() - start
    raw_s = _decode_alone(values, _generated)
    fastavro_s = _decode_alone(values, _fastavro)
    return [
        Result(
            name="fineract decode + map",
            value=len(values) / ours,
            unit="msg/s",
            ceiling_name="decoding alone",
            ceiling=len(values) / raw_s,
            detail=f"{len(values)} records (50% repayments, 10% disbursals, 40% skipped; 1.10.1 and 1.13.0), "
            f"{produced} envelopes; fastavro decoding alone {len(values) / fastavro_s:,.0f} msg/s",
            target=TARGET,
        )
    ]
