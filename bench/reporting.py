"""Reporting: event ingest at the demo's mix, and the reports on a generated book, each beside a raw ceiling.

Event ingest: a loan book's year of events on every topic reporting consumes (10,000 loans × 12
months at scale 1, the `make demo` book; the mix and order of the platform's stream: postings and
what follows them during the day, the close of day's payment-missed / payment-due /
delinquency-changed bursts and day-closed on every partition, risk-alert's scores and
classifications, crm's cases, and core banking's own events, which reporting reads and ignores) goes
through the consumer's batch path (`Consumer.apply_batch`: inbox, runs of one type, one transaction
per batch of up to 500 records of one partition, as a consumer that is behind gets them), with the
worker's snapshot refresher every 5 s. Ceiling: parsing the same records and writing each once with
`executemany`, a batch per transaction.

Reports: analytics rows are generated directly (COPY), not through events: loans, state intervals
(a few per loan, as state changes), synthetic daily aggregates, and real snapshots built at month ends.
"""

from __future__ import annotations

import random
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import asyncpg
from aiokafka import ConsumerRecord
from pydantic import BaseModel

from bench.report import Result, at_full_scale
from postloan_common.catalog import (
    CONSUMES,
    CORE_BANKING_CUSTOMERS,
    CORE_BANKING_LOANS,
    CRM_ACTIVITIES,
    REPAYMENT_LOANS,
    RISK_SCORES,
)
from postloan_common.contracts import crm, make_envelope, repayment, risk
from postloan_common.contracts.repayment import Allocation
from postloan_common.db import create_engine, drop_database, ensure_database, session_factory, sync_url, with_database
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_common.migrations import service_dir, upgrade
from postloan_common.worker import tune_gc
from postloan_dev.devstack import start_devstack
from postloan_reporting.consumers import batch_handlers
from postloan_reporting.domain.intervals import FOREVER
from postloan_reporting.domain.model import add_months, month_end
from postloan_reporting.render.pdf import render_pdf
from postloan_reporting.service import reports, snapshots
from postloan_reporting.service.management import management_report
from postloan_reporting.service.reports import Filters
from postloan_reporting.store.tables import inbox, outbox

AS_OF = date(2025, 12, 31)
START = date(2025, 1, 1)
PRODUCTS = ("consumer-12m", "consumer-24m", "sme-36m", "card-instalment")
BRANCHES = tuple(f"BR{i:02d}" for i in range(10))
CHUNK = 50_000


def _loan_rows(n: int, rng: random.Random) -> list[tuple]:
    rows = []
    for key in range(1, n + 1):
        vintage = add_months(START, -rng.randrange(0, 12))  # disbursed in the 12 months before START
        disbursed = vintage + timedelta(days=rng.randrange(0, 28))
        principal = Decimal(rng.randrange(100_000, 5_000_000)) / 100
        rows.append(
            (
                key,
                f"L{key}",
                f"C{key}",
                rng.choice(PRODUCTS),
                rng.choice(BRANCHES),
                "CNY",
                principal,
                disbursed,
                vintage,
                True,
            )
        )
    return rows


def _intervals(loan: tuple, rng: random.Random) -> list[tuple]:
    key, _, _, product, branch, _, principal, disbursed, vintage, _ = loan
    cuts = sorted({disbursed + timedelta(days=rng.randrange(1, 700)) for _ in range(rng.randrange(2, 9))})
    bounds = [disbursed, *[c for c in cuts if c > disbursed], FOREVER]
    rows, balance, rank = [], principal, 0
    for start, end in pairwise(bounds):
        anchor = start - timedelta(days=rng.randrange(0, 200)) if rng.random() < 0.12 else None
        rank = max(rank, 2 if anchor and (start - anchor).days > 90 else 0)
        overdue = (balance / 10).quantize(Decimal("0.01")) if anchor else Decimal(0)
        rows.append((key, start, end, anchor, balance, balance, overdue, rank, product, branch, vintage))
        balance = (balance * Decimal("0.88")).quantize(Decimal("0.01"))
    return rows


async def _fill_days(dsn: str, ends: list[date]) -> None:
    """The other days' aggregates: each month end's rows copied to the days of its month (COPY)."""
    conn = await asyncpg.connect(dsn)
    try:
        columns = [
            "business_date",
            "product",
            "branch",
            "vintage",
            "bucket",
            "class_rank",
            "loans",
            "principal",
            "outstanding_total",
            "overdue",
        ]
        for end in ends[1:]:
            rows = await conn.fetch("SELECT * FROM rpt_daily WHERE business_date = $1", end)
            days = [end.replace(day=d) for d in range(1, end.day)]
            await conn.copy_records_to_table(
                "rpt_daily", records=[(day, *tuple(r)[1:]) for day in days for r in rows], columns=columns
            )
            await conn.copy_records_to_table(
                "rpt_snapshot", records=[(day, False) for day in days], columns=["business_date", "stale"]
            )
        await conn.execute("ANALYZE rpt_daily")
    finally:
        await conn.close()


async def _generate(dsn: str, n: int) -> int:
    rng = random.Random(7)
    conn = await asyncpg.connect(dsn)
    try:
        loans = _loan_rows(n, rng)
        await conn.copy_records_to_table(
            "rpt_loan",
            records=loans,
            columns=[
                "loan_key",
                "loan_id",
                "customer_id",
                "product",
                "branch",
                "currency",
                "principal",
                "disbursed_on",
                "vintage",
                "registered",
            ],
        )
        await conn.execute("DROP INDEX ix_rpt_interval_valid_from; DROP INDEX ix_rpt_interval_valid_to")
        await conn.execute("ALTER TABLE rpt_interval DROP CONSTRAINT pk_rpt_interval")
        total = 0
        for start in range(0, n, CHUNK):
            rows = [row for loan in loans[start : start + CHUNK] for row in _intervals(loan, rng)]
            total += len(rows)
            await conn.copy_records_to_table(
                "rpt_interval",
                records=rows,
                columns=[
                    "loan_key",
                    "valid_from",
                    "valid_to",
                    "dpd_anchor",
                    "principal",
                    "outstanding_total",
                    "overdue",
                    "class_rank",
                    "product",
                    "branch",
                    "vintage",
                ],
            )
        await conn.execute("ALTER TABLE rpt_interval ADD CONSTRAINT pk_rpt_interval PRIMARY KEY (loan_key, valid_from)")
        await conn.execute("CREATE INDEX ix_rpt_interval_valid_from ON rpt_interval (valid_from)")
        await conn.execute("CREATE INDEX ix_rpt_interval_valid_to ON rpt_interval (valid_to)")
        await conn.execute("ANALYZE")
        return total
    finally:
        await conn.close()


async def _timed(coro_factory, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        await coro_factory()
        best = min(best, time.perf_counter() - started)
    return best


async def run(*, scale: float = 1.0) -> list[Result]:
    """Time event ingest and the portfolio, roll-rate and management reports, each beside its ceiling."""
    return [await ingest(scale=scale), *await queries(scale=scale)]


async def queries(*, scale: float = 1.0) -> list[Result]:
    """Time the portfolio, roll-rate and management reports with the raw scans of their rows."""
    n = max(1000, int(1_000_000 * scale))
    stack = start_devstack()
    db = f"bench_rpt_{uuid.uuid4().hex[:8]}"
    try:
        await ensure_database(stack.postgres_url, db)
        url = with_database(stack.postgres_url, db)
        upgrade(service_dir("postloan_reporting"), url)
        started = time.perf_counter()
        interval_count = await _generate(sync_url(url), n)
        print(
            f"reporting: {n:,} loans, {interval_count:,} intervals generated in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        engine = create_engine(url)
        sessions = session_factory(engine)
        ends = sorted({month_end(add_months(AS_OF, -k)) for k in range(0, 13)})
        started = time.perf_counter()
        async with sessions.begin() as session:
            for day in ends:
                await snapshots.build(session, business_date=day)
        build_s = (time.perf_counter() - started) / len(ends)
        print(f"  snapshot build {build_s:.2f} s per day", flush=True)
        await _fill_days(sync_url(url), ends)
        raw = await asyncpg.connect(sync_url(url))
        try:

            async def raw_daily() -> None:
                await raw.fetch("SELECT * FROM rpt_daily WHERE business_date = $1", AS_OF)

            async def raw_intervals() -> None:
                for day in (ends[0], AS_OF):
                    await raw.fetch(
                        "SELECT loan_key, dpd_anchor, principal FROM rpt_interval"
                        " WHERE valid_from <= $1 AND valid_to > $1",
                        day,
                    )

            raw_daily_s = await _timed(raw_daily)
            raw_roll_s = await _timed(raw_intervals, repeat=2)
        finally:
            await raw.close()

        async def three_reports() -> None:
            async with sessions() as session:
                for _ in range(3):  # portfolio, aging, classification: one query each, as the API does
                    await reports.portfolio_report(session, as_of=AS_OF, filters=Filters())

        async def roll() -> None:
            async with sessions() as session:
                await reports.roll_rates(session, start=ends[0], end=AS_OF, filters=Filters())

        async def management() -> None:
            async with sessions() as session:
                render_pdf(await management_report(session, as_of=AS_OF, filters=Filters()), "zh-CN")

        portfolio_s = await _timed(three_reports)
        roll_s = await _timed(roll, repeat=2)
        management_s = await _timed(management, repeat=1)
        print(
            f"  portfolio+aging+classification {portfolio_s:.3f} s (raw {raw_daily_s:.3f}); roll {roll_s:.2f} s "
            f"(raw {raw_roll_s:.2f}); management {management_s:.2f} s",
            flush=True,
        )
        await engine.dispose()
        detail = f"{n:,} loans, {interval_count:,} intervals, 12 months of daily aggregates"
        return [
            Result(
                "reporting: portfolio+aging+classification",
                portfolio_s,
                "s",
                "raw fetch of the day's aggregates",
                raw_daily_s,
                higher_is_better=False,
                detail=f"{detail}; target < 1 s at 1,000,000 loans",
                target=at_full_scale(1.0, scale),
            ),
            Result(
                "reporting: roll-rate matrix, 12 months apart",
                roll_s,
                "s",
                "raw fetch of both days' intervals",
                raw_roll_s,
                higher_is_better=False,
                detail=f"{ends[0]} → {AS_OF}; target < 2 s at 1,000,000 loans",
                target=at_full_scale(2.0, scale),
            ),
            Result(
                "reporting: management report (PDF)",
                management_s,
                "s",
                "raw fetch of both days' intervals",
                raw_roll_s,
                higher_is_better=False,
                detail=f"13 trend days, roll rates, vintages, collections; target < 30 s; "
                f"snapshot build {build_s:.2f} s/day",
                target=at_full_scale(30.0, scale),
            ),
        ]
    finally:
        await drop_database(stack.postgres_url, db)
        stack.stop()


# --- event ingest ---------------------------------------------------------------------------------

INGEST_START = date(2026, 1, 1)
INGEST_MONTHS = 12
PARTITIONS = 4
BATCH = 500
REFRESH_EVERY_S = 5.0  # as the worker's snapshot refresher
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


async def _timed_batches(
    batches: list[list[ConsumerRecord]],
    apply: Callable[[list[ConsumerRecord]], object],
    *,
    between: Callable[[], object],
) -> tuple[float, float]:
    """Apply every batch; return the seconds for all and for the last month's share of the events."""
    events = sum(len(b) for b in batches)
    last_month_from = events - sum(len(b) for b in batches[-len(batches) // INGEST_MONTHS :])
    started = last_refresh = time.perf_counter()
    done, last_month_started = 0, started
    for records in batches:
        if done <= last_month_from < done + len(records):
            last_month_started = time.perf_counter()
        await apply(records)  # type: ignore[misc]
        done += len(records)
        if time.perf_counter() - last_refresh >= REFRESH_EVERY_S:
            await between()  # type: ignore[misc]
            last_refresh = time.perf_counter()
    finished = time.perf_counter()
    return finished - started, finished - last_month_started


async def ingest(*, scale: float = 1.0) -> Result:
    """Events per second through reporting's consumer path, beside parse + executemany of the same records."""
    loans = max(200, int(10_000 * scale))
    started = time.perf_counter()
    batches = event_stream(loans)
    events = sum(len(b) for b in batches)
    last_month = sum(len(b) for b in batches[-len(batches) // INGEST_MONTHS :])
    print(
        f"reporting ingest: {loans:,} loans × {INGEST_MONTHS} months, {events:,} events in {len(batches):,} batches,"
        f" generated in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    stack = start_devstack()
    db = f"bench_rpt_ingest_{uuid.uuid4().hex[:8]}"
    tune_gc()
    try:
        await ensure_database(stack.postgres_url, db)
        url = with_database(stack.postgres_url, db)
        upgrade(service_dir("postloan_reporting"), url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        consumer = Consumer(
            ConsumerConfig(name="reporting", topics=CONSUMES["reporting"], bootstrap_servers=stack.kafka_bootstrap),
            sessions=sessions,
            inbox=inbox,
            outbox=outbox,
            batch_handlers=batch_handlers(),
        )

        async def refresh() -> None:
            async with sessions.begin() as session:
                await snapshots.refresh_stale(session)

        ingest_s, last_month_s = await _timed_batches(batches, consumer.apply_batch, between=refresh)
        await engine.dispose()

        raw = await asyncpg.connect(sync_url(url))
        try:
            await raw.execute(
                "CREATE TABLE raw_event (event_id uuid PRIMARY KEY, type text NOT NULL, subject text NOT NULL,"
                " business_date date, data jsonb NOT NULL)"
            )

            async def raw_batch(records: list[ConsumerRecord]) -> None:
                parsed = [Envelope.from_bytes(r.value) for r in records]
                rows = [
                    (e.id, e.type, e.subject, e.business_date, r.value.decode())
                    for e, r in zip(parsed, records, strict=True)
                ]
                async with raw.transaction():
                    await raw.executemany(
                        "INSERT INTO raw_event VALUES ($1, $2, $3, $4, $5::jsonb -> 'data') ON CONFLICT DO NOTHING",
                        rows,
                    )

            async def nothing() -> None:
                return None

            raw_s, _ = await _timed_batches(batches, raw_batch, between=nothing)
        finally:
            await raw.close()
    finally:
        await drop_database(stack.postgres_url, db)
        stack.stop()
    rate, raw_rate, late_rate = events / ingest_s, events / raw_s, last_month / last_month_s
    print(
        f"  ingest {rate:,.0f} events/s ({late_rate:,.0f}/s over the last month's events); raw {raw_rate:,.0f}/s",
        flush=True,
    )
    return Result(
        "reporting: event ingest",
        rate,
        "events/s",
        "raw: parse + executemany of the same records",
        raw_rate,
        detail=f"{loans:,} loans × {INGEST_MONTHS} months, {events:,} events of every topic in batches of ≤ {BATCH}"
        f" per partition; {late_rate:,.0f}/s over the last month's {last_month:,}; target ≥ 10,000/s",
        target=10_000.0,
    )
