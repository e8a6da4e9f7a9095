"""Reporting bench events: a loan book's year on every topic reporting consumes, in the platform's mix and order."""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from aiokafka import ConsumerRecord
from pydantic import BaseModel

from bench.reporting_seed import BRANCHES, PRODUCTS
from postloan_common.catalog import (
    CORE_BANKING_CUSTOMERS,
    CORE_BANKING_LOANS,
    CRM_ACTIVITIES,
    REPAYMENT_LOANS,
    RISK_SCORES,
)
from postloan_common.contracts import crm, make_envelope, repayment, risk
from postloan_common.contracts.repayment import Allocation
from postloan_common.messaging.envelope import Envelope
from postloan_reporting.domain.model import add_months

INGEST_START = date(2026, 1, 1)
INGEST_MONTHS = 12
PARTITIONS = 4
BATCH = 500
CENT = Decimal("0.01")
# The order of a business day's events: core banking's, the postings and what follows them, the
# close of day's bursts (one type after another), day-closed, then the risk and crm reactions.
BOOKED, POSTED, CLOSE, DAY_CLOSED, SCORED, WORKED = range(6)
# Within the close of day and within risk-alert's scoring, one type after another.
BURST_ORDER = {
    "payment-missed": 0,
    "payment-due": 1,
    "delinquency-changed": 2,
    "risk-score-changed": 0,
    "classification-changed": 1,
    "risk-alert-raised": 2,
    "risk-alert-resolved": 3,
}
TOPIC_ORDER = (CORE_BANKING_CUSTOMERS, CORE_BANKING_LOANS, REPAYMENT_LOANS, RISK_SCORES, CRM_ACTIVITIES)
SOURCES = {REPAYMENT_LOANS: "repayment-monitor", RISK_SCORES: "risk-alert", CRM_ACTIVITIES: "crm"}


@dataclass
class _Stream:
    """Events of the book keyed for their topic's partitions, and when each is published."""

    end: date
    rows: list[tuple[date, int, int, int, str, int, bytes]] = field(default_factory=list)

    def add(self, day: date, phase: int, topic: str, key: str, data: BaseModel, business_date: date) -> None:
        """Publish `data` on `day` (within the day, in `phase`), keyed by `key`."""
        if day > self.end:
            return
        envelope = make_envelope(data=data, source=SOURCES[topic], subject=key, business_date=business_date)
        self.raw(day, phase, topic, key, envelope)

    def raw(
        self, day: date, phase: int, topic: str, key: str, envelope: Envelope, partition: int | None = None
    ) -> None:
        """Publish an envelope reporting does not validate (core banking's events, day-closed)."""
        if day > self.end:
            return
        hashed = zlib.crc32(key.encode())
        rank = BURST_ORDER.get(envelope.type, 0) if phase in (CLOSE, SCORED) else 0
        if phase == SCORED:  # risk-alert scores a day's loans in a few rounds, not in one
            rank += 10 * (hashed // PARTITIONS % 3)
        where = hashed % PARTITIONS if partition is None else partition
        self.rows.append((day, phase, rank, len(self.rows), topic, where, envelope.to_bytes()))

    def batches(self) -> list[list[ConsumerRecord]]:
        """Each partition's records in publishing order, in batches of up to BATCH, batches in time order."""
        streams: dict[tuple[str, int], list[tuple[date, bytes]]] = {}
        for day, _, _, _, topic, partition, value in sorted(self.rows):
            streams.setdefault((topic, partition), []).append((day, value))
        batches = []
        for (topic, partition), records in streams.items():
            for start in range(0, len(records), BATCH):
                chunk = [
                    ConsumerRecord(topic, partition, start + i, 0, 0, None, value, None, len(value), 0, ())
                    for i, (_, value) in enumerate(records[start : start + BATCH])
                ]
                batches.append((records[start][0], TOPIC_ORDER.index(topic), partition, chunk))
        return [chunk for *_, chunk in sorted(batches, key=lambda b: b[:3])]


def _late_by(rng: random.Random) -> int | None:
    """Days an installment is paid late (None: on time); most late payers cure within a month."""
    if rng.random() >= 0.28:
        return None
    return rng.choice((1, 2, 3, 5, 7, 10, 14, 20, 25, 35, 45))


def _loan_events(stream: _Stream, rng: random.Random, index: int) -> None:
    """A loan's year: booking, reminders, payments on time or late (missed, delinquent, cured, some
    back-valued), a few bounced and paid again, scores and classifications, collection cases, its close."""
    loan_id, customer_id = f"L{index:06d}", f"C{index:06d}"
    ids = {"loan_id": loan_id, "customer_id": customer_id}
    disbursed = INGEST_START + timedelta(days=rng.randrange(0, 28))
    principal = Decimal(rng.randrange(1_000_000, 10_000_000)) / 100
    terms = 6 if rng.random() < 0.1 else 12
    share = (principal / terms).quantize(CENT)
    interest = (share * Decimal("0.08")).quantize(CENT)
    amount = share + interest
    product, branch = rng.choice(PRODUCTS), rng.choice(BRANCHES)

    def loan_event(day: date, phase: int, data: BaseModel, business_date: date) -> None:
        stream.add(day, phase, RISK_SCORES if phase == SCORED else REPAYMENT_LOANS, loan_id, data, business_date)

    def core_banking(day: date, topic: str, key: str, type_: str, data: dict[str, object]) -> None:
        envelope = Envelope(type=type_, source="core-banking", subject=key, business_date=day, data=data)
        stream.raw(day, BOOKED, topic, key, envelope)

    customer = {
        "customer_id": customer_id,
        "name": "张三",
        "national_id": "110101199003071234",
        "phones": [{"number": "+8613800138000", "kind": "mobile"}],
        "timezone": "Asia/Shanghai",
        "language": "zh-CN",
    }
    core_banking(disbursed, CORE_BANKING_CUSTOMERS, customer_id, "customer-upserted", customer)
    first_due, maturity = _month_later(disbursed, 1), _month_later(disbursed, terms)
    booked = {
        **ids,
        "product": product,
        "branch": branch,
        "currency": "CNY",
        "principal": str(principal),
        "annual_rate": "0.0800",
        "disbursed_on": disbursed.isoformat(),
        "terms": {"method": "annuity", "months": terms, "first_due_date": first_due.isoformat()},
    }
    core_banking(disbursed, CORE_BANKING_LOANS, loan_id, "loan-booked", booked)
    registered = repayment.LoanRegisteredV1(
        **ids,
        product=product,
        branch=branch,
        currency="CNY",
        principal=principal,
        annual_rate=Decimal("0.08"),
        disbursed_on=disbursed,
        installment_count=terms,
        first_due_date=first_due,
        maturity_date=maturity,
    )
    loan_event(disbursed, POSTED, registered, disbursed)
    rescored_on = timedelta(days=rng.randrange(28))
    for month in range(INGEST_MONTHS):
        day = add_months(INGEST_START, month) + rescored_on
        score = rng.randrange(600, 760)
        routine = risk.RiskScoreChangedV1(**ids, score=score, pd=Decimal("0.02"), grade="B", model_version="bench-v1")
        loan_event(day, SCORED, routine, day + timedelta(days=1))
        if rng.random() < 0.4:
            judged = risk.ClassificationChangedV1(
                **ids, to_classification="normal", ifrs9_stage=1, ecl=Decimal(0), dpd=0, reason="rescored"
            )
            loan_event(day, SCORED, judged, day + timedelta(days=1))
    open_principal = principal
    for seq in range(1, terms + 1):
        due = _month_later(disbursed, seq)
        late = _late_by(rng)
        paid_on = due - timedelta(days=rng.choice((0, 0, 0, 1, 2, 3))) if late is None else due + timedelta(days=late)
        for days_before in (7, 3, 1, 0):
            reminded = due - timedelta(days=days_before)
            if reminded <= paid_on:
                reminder = repayment.PaymentDueV1(
                    **ids,
                    installment_seq=seq,
                    due_date=due,
                    amount_due=amount,
                    currency="CNY",
                    days_before_due=days_before,
                    payment_reference=f"{loan_id}-{seq}",
                )
                loan_event(reminded - timedelta(days=1), CLOSE, reminder, reminded)
        value_date = paid_on
        case_id, alert_id = f"K-{loan_id}-{seq}", f"AL-{loan_id}-{seq}"
        bucket = "M2" if late is not None and late > 30 else "M1"
        if late is not None:
            _missed(stream, loan_event, ids, seq=seq, due=due, late=late, amount=amount, owed=open_principal + interest)
            missed_on = due + timedelta(days=1)
            scored = risk.RiskScoreChangedV1(
                **ids, score=rng.randrange(450, 560), pd=Decimal("0.12"), grade="D", model_version="bench-v1"
            )
            loan_event(due, SCORED, scored, missed_on)
            judged = risk.ClassificationChangedV1(
                **ids, to_classification="special_mention", ifrs9_stage=2, ecl=interest, dpd=1, reason="dpd_floor"
            )
            loan_event(due, SCORED, judged, missed_on)
            if late is not None:
                raised = risk.RiskAlertRaisedV1(
                    alert_id=alert_id,
                    rule_id="dpd-1",
                    severity="medium",
                    subject_type="loan",
                    subject_id=loan_id,
                    customer_id=customer_id,
                    message="payment missed",
                )
                loan_event(due, SCORED, raised, missed_on)
            opened = crm.CaseOpenedV1(
                case_id=case_id, **ids, queue="automated", bucket="M1", dpd=1, overdue_amount=amount, currency="CNY"
            )
            stream.add(missed_on, WORKED, CRM_ACTIVITIES, customer_id, opened, missed_on)
            if rng.random() < 0.3:  # posted late, valued on the day it was paid at the branch
                value_date = max(missed_on, paid_on - timedelta(days=rng.randrange(1, 6)))
        open_principal -= share
        repayment_id = f"R-{loan_id}-{seq}"
        posting = {
            "loan_id": loan_id,
            "repayment_id": repayment_id,
            "amount": str(amount),
            "value_date": value_date.isoformat(),
            "channel": "bank-transfer",
        }
        core_banking(paid_on, CORE_BANKING_LOANS, loan_id, "repayment-posted", posting)
        allocation = Allocation(
            penalty=Decimal(0), fee=Decimal(0), interest=interest, principal=share, credit=Decimal(0)
        )
        paid = repayment.PaymentReceivedV1(
            **ids,
            repayment_id=repayment_id,
            amount=amount,
            currency="CNY",
            value_date=value_date,
            allocation=allocation,
            outstanding_after=open_principal + interest,
            overdue_after=Decimal(0),
            dpd_after=0,
            bucket_after="M0",
        )
        loan_event(paid_on, POSTED, paid, paid_on)
        if late is not None:
            current = repayment.DelinquencyChangedV1(
                **ids,
                from_bucket=bucket,
                to_bucket="M0",
                dpd=0,
                overdue_amount=Decimal(0),
                outstanding=open_principal + interest,
                currency="CNY",
            )
            loan_event(paid_on, POSTED, current, paid_on)
            cured = repayment.LoanCuredV1(
                **ids,
                cured_on=paid_on,
                from_bucket=bucket,
                previous_dpd=late,
                outstanding=open_principal + interest,
                currency="CNY",
            )
            loan_event(paid_on, POSTED, cured, paid_on)
            closed = crm.CaseClosedV1(
                case_id=case_id, **ids, reason="cured", closed_on=paid_on, amount_collected=amount, currency="CNY"
            )
            stream.add(paid_on, WORKED, CRM_ACTIVITIES, customer_id, closed, paid_on)
            normal = risk.ClassificationChangedV1(
                **ids,
                from_classification="special_mention",
                to_classification="normal",
                ifrs9_stage=1,
                ecl=Decimal(0),
                dpd=0,
                reason="cured",
            )
            loan_event(paid_on, SCORED, normal, paid_on + timedelta(days=1))
            if late is not None:
                resolved = risk.RiskAlertResolvedV1(
                    alert_id=alert_id, rule_id="dpd-1", subject_type="loan", subject_id=loan_id, resolution="resolved"
                )
                loan_event(paid_on, SCORED, resolved, paid_on + timedelta(days=1))
        elif rng.random() < 0.017:  # bounced a few days later, paid again two days after
            bounced = paid_on + timedelta(days=rng.randrange(1, 5))
            dpd = max(0, (bounced - due).days)
            reversal = repayment.PaymentReversedV1(
                **ids,
                repayment_id=repayment_id,
                amount=amount,
                currency="CNY",
                value_date=value_date,
                reversed_on=bounced,
                reason="bounced",
                outstanding_after=open_principal + share + interest,
                overdue_after=amount if dpd else Decimal(0),
                dpd_after=dpd,
                bucket_after="M1" if dpd else "M0",
            )
            loan_event(bounced, POSTED, reversal, bounced)
            again = bounced + timedelta(days=2)
            repaid = paid.model_copy(update={"repayment_id": f"{repayment_id}-2", "value_date": again})
            loan_event(again, POSTED, repaid, again)
        if seq == terms:
            loan_event(paid_on, POSTED, repayment.LoanClosedV1(**ids, closed_on=paid_on, reason="paid_off"), paid_on)


def _missed(
    stream: _Stream,
    loan_event: Callable[[date, int, BaseModel, date], None],
    ids: dict[str, str],
    *,
    seq: int,
    due: date,
    late: int,
    amount: Decimal,
    owed: Decimal,
) -> None:
    """The close of day's events for an installment paid `late` days after `due`."""
    missed_on = due + timedelta(days=1)
    missed = repayment.PaymentMissedV1(
        **ids, installment_seq=seq, due_date=due, amount_overdue=amount, currency="CNY", dpd=1, bucket="M1"
    )
    loan_event(due, CLOSE, missed, missed_on)
    m1 = repayment.DelinquencyChangedV1(
        **ids, from_bucket="M0", to_bucket="M1", dpd=1, overdue_amount=amount, outstanding=owed, currency="CNY"
    )
    loan_event(due, CLOSE, m1, missed_on)
    if late > 30:
        worse = due + timedelta(days=31)
        m2 = repayment.DelinquencyChangedV1(
            **ids, from_bucket="M1", to_bucket="M2", dpd=31, overdue_amount=amount, outstanding=owed, currency="CNY"
        )
        loan_event(worse - timedelta(days=1), CLOSE, m2, worse)


def _month_later(day: date, months: int) -> date:
    first = add_months(day, months)
    return first.replace(day=min(day.day, 28))


def event_stream(loans: int, *, seed: int = 1) -> list[list[ConsumerRecord]]:
    """The book's events on every topic reporting consumes, as batches a consumer that is behind polls."""
    rng = random.Random(seed)
    end = add_months(INGEST_START, INGEST_MONTHS) - timedelta(days=1)
    stream = _Stream(end=end)
    for index in range(loans):
        _loan_events(stream, rng, index)
    day = INGEST_START
    while day <= end:
        for partition in range(PARTITIONS):
            closed = repayment.DayClosedV1(
                business_date=day,
                partition=partition,
                partitions=PARTITIONS,
                loans_processed=loans,
                payments_due=0,
                payments_missed=0,
                delinquency_changes=0,
            )
            envelope = make_envelope(
                data=closed, source=SOURCES[REPAYMENT_LOANS], subject=f"day-{day}", business_date=day
            )
            stream.raw(day, DAY_CLOSED, REPAYMENT_LOANS, f"day-{day}", envelope, partition=partition)
        day += timedelta(days=1)
    return stream.batches()
