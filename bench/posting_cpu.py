"""CPU of one posting in Python, the replay path against the incremental one, interleaved in one process.

`python -m bench.posting_cpu`: a 12-installment loan with three earlier repayments, five rounds of
3,000 postings of each path; prints the median and best microseconds per posting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal as D

from postloan_common.contracts import Allocation, Bucket, PaymentReceivedV1, make_envelope
from postloan_common.messaging.outbox import outbox_row
from postloan_repayment_monitor.domain.incremental import (
    StoredInstallment,
    applies_in_order,
    apply_in_order,
    posting_outcome,
    stored_ledger,
)
from postloan_repayment_monitor.domain.ledger import Payment, Scheduled, replay
from postloan_repayment_monitor.domain.rules import BucketScheme, Component, ProductRules
from postloan_repayment_monitor.service.events import SOURCE, envelope_of

RULES, RATE, BUCKETS = ProductRules(), D("0.12"), BucketScheme()
START = date(2026, 1, 5)
SCHEDULE = [Scheduled(k + 1, START + timedelta(days=30 * (k + 1)), D("1000.00"), D("10.00")) for k in range(12)]
EARLIER = [Payment(f"R{k}", D("1010.00"), START + timedelta(days=30 * (k + 1)), k + 1) for k in range(3)]
DAY = START + timedelta(days=120)
NEW = Payment("N", D("1010.00"), DAY, 10)
FIELDS = {
    "loan_id": "L00000001",
    "customer_id": "C1",
    "repayment_id": "N",
    "amount": NEW.amount,
    "currency": "CNY",
    "value_date": DAY,
}
_PARTS = (Component.PRINCIPAL, Component.INTEREST, Component.FEE, Component.PENALTY)


def _rows() -> list[StoredInstallment]:
    base = replay(SCHEDULE, EARLIER, rules=RULES, contract_rate=RATE, as_of=DAY)
    return [
        StoredInstallment(
            SCHEDULE[i.seq - 1],
            *(i.paid[c] for c in _PARTS),
            i.penalty_exact.quantize(D("1E-10")),
            i.accrued_through,
            i.settled_on,
        )
        for i in base.installments
    ]


ROWS = _rows()


def replayed() -> None:
    """The path before issue 19: replay the loan, then a validated event and envelope."""
    ledger = replay(SCHEDULE, [*EARLIER, NEW], rules=RULES, contract_rate=RATE, as_of=DAY)
    o = posting_outcome(ledger, "N", buckets=BUCKETS)
    data = PaymentReceivedV1(
        **FIELDS,
        allocation=Allocation(**o.allocation),
        outstanding_after=o.outstanding,
        overdue_after=o.overdue,
        dpd_after=o.dpd,
        bucket_after=o.bucket,
    )
    envelope = make_envelope(data=data, source=SOURCE, subject="L00000001", business_date=DAY, correlation_id="c")
    outbox_row(envelope, topic="repayment.loans")


def incremental() -> None:
    """The path now: the stored state, apply_in_order, an event and envelope built from checked parts."""
    stored = stored_ledger(
        ROWS, credit_balance=D("0.00"), penalty_rate=RULES.penalty_rate(RATE), grace_days=0, as_of=DAY
    )
    assert applies_in_order(stored, NEW, earlier=EARLIER)
    o = posting_outcome(apply_in_order(stored, NEW, rules=RULES, as_of=DAY), "N", buckets=BUCKETS)
    data = PaymentReceivedV1.model_construct(
        **FIELDS,
        allocation=Allocation.model_construct(None, **o.allocation),
        outstanding_after=o.outstanding,
        overdue_after=o.overdue,
        dpd_after=o.dpd,
        bucket_after=Bucket(o.bucket),
    )
    envelope = envelope_of(data, subject="L00000001", business_date=DAY, correlation_id="c", causation_id=None)
    outbox_row(envelope, topic="repayment.loans")


def micros(step: Callable[[], None], n: int = 3000) -> float:
    started = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    runs: dict[str, list[float]] = {"replay + validated event": [], "incremental + unvalidated event": []}
    for _ in range(5):
        runs["replay + validated event"].append(micros(replayed))
        runs["incremental + unvalidated event"].append(micros(incremental))
    for name, values in runs.items():
        print(f"{name:34} median {sorted(values)[2]:8.1f} µs, best {min(values):8.1f} µs per posting")


if __name__ == "__main__":
    main()
