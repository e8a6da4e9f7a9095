"""Worker jobs and business metrics: bucket gauges, posting counters (events and REST), close of day."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal as D
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import ConsumerRecord
from prometheus_client import REGISTRY
from rm_testkit import repayment_posted
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.contracts import LoanBookedV1, make_envelope
from postloan_common.db import create_engine, session_factory
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_repayment_monitor.consumers import LoanEventHandlers
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.metrics import refresh_portfolio
from postloan_repayment_monitor.service.scheduler import close_due_days, close_of_day_task
from postloan_repayment_monitor.settings import Settings
from postloan_repayment_monitor.store.tables import inbox, outbox
from postloan_repayment_monitor.worker import extra_tasks

pytestmark = pytest.mark.integration

SHANGHAI = ZoneInfo("Asia/Shanghai")
TOPIC = "core-banking.loans"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def loan(loan_id: str, first_due: str, principal: str = "3000.00") -> Envelope:
    data = LoanBookedV1.model_validate(
        {
            "loan_id": loan_id,
            "customer_id": "C-1",
            "product": "consumer-12m",
            "branch": "SH01",
            "currency": "CNY",
            "principal": principal,
            "annual_rate": "0.1200",
            "disbursed_on": "2026-01-05",
            "terms": {"method": "equal_principal", "months": 3, "first_due_date": first_due},
        }
    )
    return make_envelope(data=data, source="core-banking", subject=loan_id)


def payment(loan_id: str, repayment_id: str, amount: str, value_date: str = "2026-03-10") -> Envelope:
    return repayment_posted(loan_id, repayment_id, amount, value_date)


class Worker:
    """The consumer's batch logic fed with records directly (no broker needed for what is measured here)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        handlers = LoanEventHandlers(settings=settings, buckets=BucketScheme())
        self.consumer = Consumer(
            ConsumerConfig(name="repayment-monitor", topics=[TOPIC], bootstrap_servers="unused:9092"),
            sessions=sessions,
            inbox=inbox,
            outbox=outbox,
            handlers=handlers.handlers(),
            batch_handlers=handlers.batch_handlers(),
        )
        self.offset = 0

    async def apply(self, *events: Envelope) -> None:
        records = []
        for event in events:
            value = event.to_bytes()
            records.append(
                ConsumerRecord(TOPIC, 0, self.offset, 0, 0, event.subject.encode(), value, None, 0, len(value), [])
            )
            self.offset += 1
        await self.consumer.apply_batch(records)

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.sessions() as session:
            return (await session.execute(text(sql), params)).scalar()


@pytest.fixture
async def worker(migrated_database, devstack) -> AsyncIterator[Worker]:
    url = await migrated_database("postloan_repayment_monitor")
    settings = Settings(
        database_url=url,
        initial_business_date=date(2026, 3, 10),
        close_of_day_at=time(0, 30),
        business_timezone="Asia/Shanghai",
    )
    engine = create_engine(url)
    try:
        yield Worker(session_factory(engine), settings)
    finally:
        await engine.dispose()


async def test_bucket_gauges_count_active_loans_and_their_principal(worker: Worker):
    await worker.apply(
        loan("L-M2", "2026-02-05"),  # 33 days past due on 2026-03-10
        loan("L-M1", "2026-03-05"),  # 5 days
        loan("L-M0a", "2026-04-05"),
        loan("L-M0b", "2026-04-05", principal="300.00"),
        loan("L-PAID", "2026-04-05", principal="90.00"),
    )
    await worker.apply(payment("L-PAID", "R-PAID", "200.00"))  # pays it off: no longer active
    assert await worker.scalar("SELECT status FROM loans WHERE loan_id = 'L-PAID'") == "closed"
    async with worker.sessions() as session:
        figures = await refresh_portfolio(session, buckets=BucketScheme())
    assert figures["M0"] == (2, D("3300.00")) and figures["M1"] == (1, D("3000.00"))
    assert figures["M2"] == (1, D("3000.00")) and figures["M3"] == (0, D(0))
    assert {b: sample("repayment_loans", bucket=b) for b in ("M0", "M1", "M2", "M3", "M6+")} == {
        "M0": 2,
        "M1": 1,
        "M2": 1,
        "M3": 0,
        "M6+": 0,
    }
    assert sample("repayment_balance", bucket="M0") == 3300.0
    assert sample("repayment_balance", bucket="M2") == 3000.0

    # L-M1 pays more than its overdue installment: it is current again, with less principal open.
    await worker.apply(payment("L-M1", "R-M1", "1100.00"))
    left = await worker.scalar("SELECT outstanding_principal FROM loans WHERE loan_id = 'L-M1'")
    assert left < D("3000.00")
    async with worker.sessions() as session:
        await refresh_portfolio(session, buckets=BucketScheme())
    assert sample("repayment_loans", bucket="M1") == 0
    assert sample("repayment_loans", bucket="M0") == 3
    assert sample("repayment_balance", bucket="M0") == float(D("3300.00") + left)


async def test_posting_counters_count_each_event_once_even_when_a_batch_is_reapplied(worker: Worker):
    await worker.apply(loan("L-1", "2026-04-05"))
    posted, duplicate = (
        sample("repayment_repayments_total", outcome="posted"),
        sample("repayment_repayments_total", outcome="duplicate"),
    )
    unknown = sample("repayment_rejections_total", reason="unknown_loan")
    # One batch: a good posting, then a rejected one; the batch is rolled back and applied event by event.
    await worker.apply(payment("L-1", "R-1", "10.00"), payment("L-404", "R-2", "10.00"))
    # The same repayment again as another event (another event id): a duplicate, not a second posting.
    await worker.apply(payment("L-1", "R-1", "10.00"))
    assert sample("repayment_repayments_total", outcome="posted") - posted == 1
    assert sample("repayment_repayments_total", outcome="duplicate") - duplicate == 1
    assert sample("repayment_rejections_total", reason="unknown_loan") - unknown == 1
    assert await worker.scalar("SELECT count(*) FROM repayments") == 1
    assert await worker.scalar("SELECT count(*) FROM outbox WHERE topic = 'core-banking.loans.dlt'") == 1


async def test_scheduler_closes_the_due_days_and_counts_close_of_day(worker: Worker):
    await worker.apply(loan("L-1", "2026-03-12"))  # T−1 and T0 reminders fall on the days closed here
    seconds = sample("repayment_close_of_day_seconds_count")
    due_events = sample("repayment_close_of_day_events_total", type="payment_due")
    settings = worker.settings
    # 00:10 on the 11th in Shanghai: the 10th is not due until 00:30.
    early = datetime(2026, 3, 11, 0, 10, tzinfo=SHANGHAI)
    assert await close_due_days(worker.sessions, settings=settings, buckets=BucketScheme(), now=early) == []
    late = datetime(2026, 3, 12, 1, 0, tzinfo=SHANGHAI)
    closed = await close_due_days(worker.sessions, settings=settings, buckets=BucketScheme(), now=late)
    assert [c.business_date for c in closed] == [date(2026, 3, 10), date(2026, 3, 11)]
    assert sum(c.stats["payments_due"] for c in closed) == 2
    assert await close_due_days(worker.sessions, settings=settings, buckets=BucketScheme(), now=late) == []
    async with worker.sessions() as session:
        assert await business_date(session, initial=settings.first_business_date()) == date(2026, 3, 12)
    assert sample("repayment_close_of_day_seconds_count") - seconds == 2
    assert sample("repayment_close_of_day_events_total", type="payment_due") - due_events == 2
    assert await worker.scalar("SELECT count(*) FROM audit_log WHERE actor = 'close-of-day-scheduler'") == 2
    assert await worker.scalar("SELECT count(*) FROM outbox WHERE event_type = 'day-closed'") == 2 * 4


async def test_the_scheduler_task_catches_up_and_stops_when_asked(worker: Worker):
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    settings = worker.settings.model_copy(
        update={"initial_business_date": today - timedelta(days=2), "close_of_day_at": time(0, 0)}
    )
    stop = asyncio.Event()
    task = asyncio.create_task(close_of_day_task(settings=settings, buckets=BucketScheme())(worker.sessions, stop))
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while await worker.scalar("SELECT count(*) FROM closed_days") < 2:
            assert asyncio.get_running_loop().time() < deadline, "the scheduler did not catch up"
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    # Local midnight may pass during the test: then one more day is due, never a day in the future.
    assert await worker.scalar("SELECT max(business_date) FROM closed_days") in {today - timedelta(days=1), today}


def test_worker_runs_the_scheduler_only_when_a_close_time_is_set(worker: Worker):
    assert len(extra_tasks(settings=worker.settings, buckets=BucketScheme())) == 2
    manual = worker.settings.model_copy(update={"close_of_day_at": None})
    assert len(extra_tasks(settings=manual, buckets=BucketScheme())) == 1


async def test_rest_routes_count_postings_rejections_and_close_of_day(rm_api, token):
    h = token("system")
    async with rm_api("2026-03-10") as (client, _url):
        body = loan("L-1", "2026-04-05").data
        assert (await client.post("/v1/loans", json=body, headers=h)).status_code == 201
        posted = sample("repayment_repayments_total", outcome="posted")
        duplicate = sample("repayment_repayments_total", outcome="duplicate")
        reversed_ = sample("repayment_repayments_total", outcome="reversed")
        future = sample("repayment_rejections_total", reason="value_date_in_future")
        closes = sample("repayment_close_of_day_seconds_count")
        pay = {"repayment_id": "R-1", "amount": "10.00", "value_date": "2026-03-10", "channel": "cash"}
        assert (await client.post("/v1/loans/L-1/repayments", json=pay, headers=h)).status_code == 201
        assert (await client.post("/v1/loans/L-1/repayments", json=pay, headers=h)).status_code == 200
        late = {**pay, "repayment_id": "R-2", "value_date": "2026-03-11"}
        assert (await client.post("/v1/loans/L-1/repayments", json=late, headers=h)).status_code == 422
        assert (await client.post("/v1/repayments/R-1/reversal", headers=h)).status_code == 200
        assert (await client.post("/v1/calendar/advance", json={"to": "2026-03-12"}, headers=h)).status_code == 200
        assert sample("repayment_repayments_total", outcome="posted") - posted == 1
        assert sample("repayment_repayments_total", outcome="duplicate") - duplicate == 1
        assert sample("repayment_repayments_total", outcome="reversed") - reversed_ == 1
        assert sample("repayment_rejections_total", reason="value_date_in_future") - future == 1
        assert sample("repayment_close_of_day_seconds_count") - closes == 2
        metrics = (await client.get("/metrics")).text
        assert 'repayment_rejections_total{reason="value_date_in_future"}' in metrics
