"""`core-banking.loans` through the real consumer loop and outbox relay, on PostgreSQL and Tansu.

The loan and the figures are those of test_scenario.py (the REST path): the event path must
reach the same state. Replays must change nothing; every kind of bad event must be dead-lettered
with its reason and leave no other trace.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rm_testkit import LOAN, allocation, repayment_posted
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from postloan_common.catalog import all_topics
from postloan_common.contracts import (
    LoanBookedV1,
    LoanRestructuredV1,
    LoanWrittenOffV1,
    RepaymentReversedV1,
    make_envelope,
)
from postloan_common.db import create_engine, session_factory, sync_url
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.relay import OutboxRelay, RelayConfig
from postloan_dev.devstack import DevStack
from postloan_dev.testing import wait_until
from postloan_repayment_monitor.consumers import LoanEventHandlers
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service import queries
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.scheduler import close_until
from postloan_repayment_monitor.settings import Settings
from postloan_repayment_monitor.store.tables import inbox, outbox

pytestmark = pytest.mark.integration

SOURCE = "core-banking"

CHECKSUMS = {
    "loans": "loan_id",
    "installments": "loan_id, seq",
    "repayments": "repayment_id",
    "allocations": "repayment_id, seq, component",
    "loan_events": "id",
    "business_calendar": "id",
    "closed_days": "business_date",
    "restructurings": "restructure_id",
    "replaced_installments": "loan_id, seq",
}


def booked(**changes: Any) -> Envelope:
    data = LoanBookedV1.model_validate({**LOAN, **changes})
    return make_envelope(data=data, source=SOURCE, subject=data.loan_id, correlation_id=f"corr-{data.loan_id}")


posted = repayment_posted


def written_off(loan_id: str, *, principal: str, interest: str = "0.00") -> Envelope:
    """Core banking wrote the loan off for fraud on 10 Mar 2026 (no fee or penalty open)."""
    data = LoanWrittenOffV1(
        loan_id=loan_id,
        written_off_on=date(2026, 3, 10),
        principal=D(principal),
        interest=D(interest),
        fee=D("0.00"),
        penalty=D("0.00"),
        reason="fraud",
    )
    return make_envelope(data=data, source=SOURCE, subject=loan_id)


def raw_posted(loan_id: str, repayment_id: str, amount: Any, value_date: str) -> Envelope:
    """A repayment-posted envelope whose data skips contract validation (to test the consumer's)."""
    data = {
        "loan_id": loan_id,
        "repayment_id": repayment_id,
        "amount": amount,
        "value_date": value_date,
        "channel": "bank-transfer",
    }
    return Envelope(type="repayment-posted", source=SOURCE, subject=loan_id, data=data)


def probe() -> Envelope:
    """An event no handler knows: once it is in the inbox, everything before it was applied."""
    return Envelope(type="test-probe", source="test", subject="probe")


@dataclass
class Rig:
    url: str
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    topic: str
    bootstrap: str
    settings: Settings
    handlers: LoanEventHandlers
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start_consumer(self) -> str:
        """Start one more consumer (its own group, so it reads the topic from the start); return its name."""
        name = f"repayment-monitor-{uuid.uuid4().hex[:8]}"
        consumer = Consumer(
            ConsumerConfig(name=name, topics=[self.topic], bootstrap_servers=self.bootstrap, session_timeout_ms=6000),
            sessions=self.sessions,
            inbox=inbox,
            outbox=outbox,
            handlers=self.handlers.handlers(),
            batch_handlers=self.handlers.batch_handlers(),
        )
        self.tasks.append(asyncio.create_task(consumer.run(self.stop)))
        return name

    async def produce(self, *items: Envelope | bytes, key: str = "k") -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", linger_ms=5)
        await producer.start()
        try:
            futures = []
            for item in items:
                value = item if isinstance(item, bytes) else item.to_bytes()
                subject = key if isinstance(item, bytes) else item.subject
                futures.append(await producer.send(self.topic, value=value, key=subject.encode()))
            await asyncio.gather(*futures)
        finally:
            await producer.stop()

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    async def applied(self, consumer: str, event: Envelope) -> None:
        async def seen() -> bool:
            found = await self.scalar(
                "SELECT 1 FROM inbox WHERE consumer = :c AND event_id = :e", c=consumer, e=event.id
            )
            return found is not None

        await wait_until(seen, what=f"{event.type} {event.id} to reach {consumer}'s inbox")

    async def send(self, consumer: str, *items: Envelope | bytes, key: str = "k") -> None:
        """Produce `items` in order and wait until `consumer` has applied the last (an envelope)."""
        last = items[-1]
        assert isinstance(last, Envelope)
        await self.produce(*items, key=key)
        await self.applied(consumer, last)

    async def advance(self, to: str) -> None:
        await close_until(self.sessions, settings=self.settings, buckets=BucketScheme(), before=date.fromisoformat(to))

    async def checksums(self) -> dict[str, str]:
        out = {}
        for table, order in CHECKSUMS.items():
            out[table] = await self.scalar(
                f"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY {order}), '')) FROM {table} t"
            )
        out["outbox"] = await self.scalar("SELECT count(*)::text || ':' || coalesce(max(id), 0)::text FROM outbox")
        return out

    async def loan(self, loan_id: str) -> dict[str, Any]:
        async with self.sessions() as session:
            today = await business_date(session, initial=self.settings.first_business_date())
            file = await queries.loan_file(session, loan_id)
            assert file is not None
            return queries.loan_detail(file, file.replay(today), BucketScheme())

    async def outbox_events(self) -> list[Envelope]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(text("SELECT payload FROM outbox WHERE topic = 'repayment.loans' ORDER BY id"))
            return [Envelope.from_bytes(bytes(r.payload)) for r in rows]

    async def read_dead_letters(self, expected: int, timeout: float = 60.0) -> list[Any]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            tp = TopicPartition(f"{self.topic}.dlt", 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            records: list[Any] = []
            deadline = time.monotonic() + timeout
            while len(records) < expected and time.monotonic() < deadline:
                for batch in (await consumer.getmany(timeout_ms=300)).values():
                    records.extend(batch)
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)  # anything published twice shows up here
            return records
        finally:
            await consumer.stop()


@pytest.fixture
def rig(migrated_database, devstack: DevStack, unique_topic):
    @asynccontextmanager
    async def start(initial_business_date: str) -> AsyncIterator[Rig]:
        url = await migrated_database("postloan_repayment_monitor")
        settings = Settings(
            database_url=url,
            initial_business_date=date.fromisoformat(initial_business_date),
            kafka_bootstrap_servers=devstack.kafka_bootstrap,
        )
        topic = unique_topic("core-banking.loans")
        # The relay publishes to the platform topics too; Tansu needs every topic created first.
        await ensure_topics(devstack.kafka_bootstrap, all_topics(), partitions=settings.kafka_topic_partitions)
        await ensure_topics(devstack.kafka_bootstrap, [topic, f"{topic}.dlt"], partitions=1)
        engine = create_engine(url)
        rig = Rig(
            url=url,
            engine=engine,
            sessions=session_factory(engine),
            topic=topic,
            bootstrap=devstack.kafka_bootstrap,
            settings=settings,
            handlers=LoanEventHandlers(settings=settings, buckets=BucketScheme()),
        )
        relay = OutboxRelay(
            RelayConfig(
                service="repayment-monitor-test",
                dsn=sync_url(url),
                bootstrap_servers=devstack.kafka_bootstrap,
                poll_interval_s=0.2,
            )
        )
        rig.tasks.append(asyncio.create_task(relay.run(rig.stop)))
        try:
            yield rig
        finally:
            rig.stop.set()
            results = await asyncio.wait_for(asyncio.gather(*rig.tasks, return_exceptions=True), 30)
            await engine.dispose()
            assert not [r for r in results if isinstance(r, BaseException)], results

    return start


async def test_events_reach_the_rest_figures_and_replays_change_nothing(rig):
    async with rig("2026-01-05") as r:
        first = r.start_consumer()
        inputs: list[Envelope] = []

        async def send(event: Envelope) -> None:
            inputs.append(event)
            await r.send(first, event)

        await send(booked())
        await r.advance("2026-02-05")
        await send(posted("L-1001", "R1", "1030.00", "2026-02-05"))
        await r.advance("2026-03-12")
        await send(posted("L-1001", "R2", "500.00", "2026-03-12"))
        await r.advance("2026-03-20")
        await send(posted("L-1001", "R3", "530.00", "2026-03-15"))  # back-valued
        await r.advance("2026-03-25")
        reversal = RepaymentReversedV1(
            loan_id="L-1001", repayment_id="R2", reason="bounced", reversed_on=date(2026, 3, 25)
        )
        await send(make_envelope(data=reversal, source=SOURCE, subject="L-1001"))

        # The figures of test_scenario.py, reached through the REST API there.
        async with r.engine.connect() as conn:
            rows = await conn.execute(text("SELECT repayment_id, result, status, reversal_result FROM repayments"))
            results = {row.repayment_id: row for row in rows}
        assert results["R1"].result["allocation"]["interest"] == "30.00"
        assert results["R2"].result["allocation"] == allocation(penalty="3.45", interest="20.00", principal="476.55")
        assert results["R3"].result["allocation"] == allocation(penalty="0.78", interest="5.77", principal="523.45")
        assert (results["R3"].result["dpd_after"], results["R3"].result["bucket_after"]) == (0, "M0")
        assert results["R2"].status == "reversed"
        assert (results["R2"].reversal_result["dpd_after"], results["R2"].reversal_result["bucket_after"]) == (20, "M1")
        state = await r.loan("L-1001")
        assert (state["dpd"], state["bucket"], state["penalty"]) == (20, "M1", D("2.44"))
        assert state["outstanding"]["total"] == D("1507.37")
        assert await r.scalar("SELECT booked_via FROM loans WHERE loan_id = 'L-1001'") == "event"

        events = await r.outbox_events()
        kinds = Counter(e.type for e in events if e.type != "day-closed")
        assert kinds == {
            "loan-registered": 1,
            "payment-due": 8,
            "payment-received": 3,
            "payment-missed": 1,
            "delinquency-changed": 3,
            "loan-cured": 1,
            "payment-reversed": 1,
        }
        by_cause = {str(e.id): e for e in inputs}
        received = [e for e in events if e.type == "payment-received"]
        assert [by_cause[e.causation_id].data["repayment_id"] for e in received] == ["R1", "R2", "R3"]
        assert all(e.correlation_id for e in received)

        before = await r.checksums()
        # Replay 1: the same records again (same event ids) to the same consumer group: the inbox drops them.
        end = probe()
        await r.send(first, *inputs, end)
        assert await r.checksums() == before
        # Replay 2: a second consumer group reads everything again; now the handlers run a second time
        # and only the loan-id and repayment-id idempotency stand between the replay and a double posting.
        second = r.start_consumer()
        await r.applied(second, end)
        assert await r.scalar("SELECT count(*) FROM inbox WHERE consumer = :c", c=second) == len(inputs) + 1
        assert await r.checksums() == before
        assert await r.scalar("SELECT count(*) FROM outbox WHERE topic LIKE '%.dlt'") == 0


async def test_bad_events_are_dead_lettered_with_the_reason_and_leave_no_trace(rig):
    async with rig("2026-03-10") as r:
        consumer = r.start_consumer()
        setup = [
            booked(loan_id="L-1"),
            booked(
                loan_id="L-2",
                principal="100.00",
                installments=[{"seq": 1, "due_date": "2026-04-10", "principal": "100.00", "interest": "1.00"}],
            ),
            posted("L-2", "R-L2", "101.00", "2026-03-10"),  # pays L-2 off
            booked(loan_id="L-3"),
            written_off("L-3", principal="3000.00", interest="60.00"),
        ]
        await r.send(consumer, *setup)
        assert await r.scalar("SELECT status FROM loans WHERE loan_id = 'L-2'") == "closed"
        assert await r.scalar("SELECT status || ' ' || closed_on FROM loans WHERE loan_id = 'L-3'") == (
            "written_off 2026-03-10"
        )
        closed = [e for e in await r.outbox_events() if e.type == "loan-closed"]
        assert {(e.subject, e.data["reason"]) for e in closed} == {("L-2", "prepaid"), ("L-3", "written_off")}
        assert next(e for e in closed if e.subject == "L-3").causation_id == str(setup[-1].id)

        tables_before = await r.checksums()
        events_before = await r.scalar("SELECT count(*) FROM outbox WHERE topic = 'repayment.loans'")
        good = posted("L-1", "R-G1", "100.00", "2026-03-10")
        bad: list[tuple[Envelope | bytes, str]] = [
            (posted("L-404", "R-B1", "10.00", "2026-03-10"), "unknown_loan"),
            (posted("L-2", "R-B2", "10.00", "2026-03-10"), "loan_closed: loan L-2 is closed"),
            (raw_posted("L-1", "R-B3", "0.00", "2026-03-10"), "must be > 0"),
            (raw_posted("L-1", "R-B4", "-5.00", "2026-03-10"), "must be > 0"),
            (raw_posted("L-1", "R-B5", 12.5, "2026-03-10"), "never a float"),
            (posted("L-1", "R-B6", "10.00", "2026-03-10", currency="USD"), "wrong_currency"),
            (posted("L-1", "R-B7", "10.00", "2026-03-11"), "value_date_in_future"),
            (b'{"id": "not json', "malformed envelope"),
            # A repayment on the written-off L-3 is no bad event: it is a recovery (test_recoveries.py).
            (posted("L-1", "R-G1", "100.01", "2026-03-10"), "repayment_id_reused"),
            (
                booked(
                    loan_id="L-9",
                    installments=[{"seq": 1, "due_date": "2026-04-05", "principal": "2000.00", "interest": "1.00"}],
                ),
                "installment principal sums to 2000.00, not the loan principal 3000.00",
            ),
            (booked(loan_id="L-1", branch="BJ02"), "conflict: loan L-1 is already booked with different content"),
            (
                make_envelope(
                    data=RepaymentReversedV1(
                        loan_id="L-1", repayment_id="R-NONE", reason="bounced", reversed_on=date(2026, 3, 10)
                    ),
                    source=SOURCE,
                    subject="L-1",
                ),
                "unknown_repayment",
            ),
            (written_off("L-404", principal="1.00"), "loan L-404 is not known"),
            (
                make_envelope(
                    data=LoanRestructuredV1.model_validate(
                        {
                            "loan_id": "L-1",
                            "restructure_id": "RS-1",
                            "restructured_on": "2026-03-10",
                            "reason": "hardship",
                            "outstanding_principal": "3000.00",
                            "terms": {"method": "annuity", "months": 24, "first_due_date": "2026-04-10"},
                        }
                    ),
                    source=SOURCE,
                    subject="L-1",
                ),
                # R-G1 (100.00 on 03-10) paid 16.27 penalty, 30.00 interest and 53.73 principal before it.
                "outstanding_principal_mismatch: outstanding_principal 3000.00 does not match the loan's open "
                "principal 2946.27 on 2026-03-10",
            ),
        ]
        # The good posting sits among the bad ones, in the same polled batch and run of one type.
        stream: list[Envelope | bytes] = [item for item, _ in bad[:7]] + [good] + [item for item, _ in bad[7:]]
        end = probe()
        await r.send(consumer, *stream, end, key="L-1")

        dead = await r.read_dead_letters(len(bad))
        assert len(dead) == len(bad)
        for record in dead:
            headers = {k: v.decode() for k, v in record.headers}
            item = stream[int(headers["dlt-original-offset"]) - len(setup)]
            expected = next(reason for candidate, reason in bad if candidate is item)
            assert expected in headers["dlt-reason"], (expected, headers["dlt-reason"])
            assert headers["dlt-original-topic"] == r.topic
            assert record.value == (item if isinstance(item, bytes) else item.to_bytes())

        # No trace: only the good posting changed anything, and only through its own event.
        assert set(await r.scalar("SELECT array_agg(repayment_id) FROM repayments")) == {"R-L2", "R-G1"}
        assert set(await r.scalar("SELECT array_agg(loan_id) FROM loans")) == {"L-1", "L-2", "L-3"}
        assert await r.scalar("SELECT branch FROM loans WHERE loan_id = 'L-1'") == "SH01"
        assert await r.scalar("SELECT amount FROM repayments WHERE repayment_id = 'R-G1'") == D("100.00")
        new_events = (await r.outbox_events())[events_before:]
        assert [(e.type, e.causation_id) for e in new_events] == [("payment-received", str(good.id))]
        assert set(await r.scalar("SELECT array_agg(DISTINCT repayment_id) FROM allocations")) == {"R-L2", "R-G1"}
        assert await r.scalar("SELECT count(*) FROM restructurings") == 0
        after = await r.checksums()
        for table in ("business_calendar", "closed_days"):
            assert after[table] == tables_before[table], table
        assert await r.scalar("SELECT count(*) FROM outbox WHERE topic = :t", t=f"{r.topic}.dlt") == len(bad)


def restructured(**changes: Any) -> Envelope:
    data = LoanRestructuredV1.model_validate(
        {
            "loan_id": "L-1001",
            "restructure_id": "RS-1",
            "restructured_on": "2026-03-20",
            "reason": "hardship",
            "outstanding_principal": "2000.00",
            "terms": {"method": "equal_principal", "months": 4, "first_due_date": "2026-04-20"},
            **changes,
        }
    )
    return make_envelope(data=data, source=SOURCE, subject=data.loan_id)


async def test_a_restructuring_event_reschedules_once_and_close_of_day_follows_the_new_schedule(rig):
    """L-1001 paid 5 days late on 02-10, then installment 2 missed: restructured on 03-20 at DPD 15."""
    async with rig("2026-01-05") as r:
        consumer = r.start_consumer()

        await r.send(consumer, booked())
        await r.advance("2026-02-10")
        await r.send(consumer, posted("L-1001", "R1", "1032.47", "2026-02-10"))
        await r.advance("2026-03-20")
        assert (await r.loan("L-1001"))["dpd"] == 15
        seen = len(await r.outbox_events())

        event = restructured()
        await r.send(consumer, event)
        state = await r.loan("L-1001")
        assert (state["dpd"], state["bucket"], state["outstanding"]["total"]) == (0, "M0", D("2070.00"))
        announced = (await r.outbox_events())[seen:]
        assert [e.type for e in announced] == ["loan-rescheduled", "delinquency-changed", "loan-cured"]
        assert {e.causation_id for e in announced} == {str(event.id)}
        assert (announced[0].data["dpd_before"], announced[0].data["bucket_before"]) == (15, "M1")
        # Generated at the contract rate (12%, none given) with installment 2's 20.00 interest folded in.
        assert await r.scalar("SELECT string_agg(seq || ':' || interest, ' ' ORDER BY seq) FROM installments") == (
            "1:30.00 4:25.00 5:20.00 6:15.00 7:10.00"
        )

        # The same restructuring again under a new event id: no effect. Other content under its id: dead letter.
        before = await r.checksums()
        await r.send(consumer, restructured())
        assert await r.checksums() == before
        conflicting = restructured(reason="other")
        late = posted("L-1001", "R-LATE", "100.00", "2026-03-19")
        bounced = make_envelope(
            data=RepaymentReversedV1(
                loan_id="L-1001", repayment_id="R1", reason="bounced", reversed_on=date(2026, 3, 20)
            ),
            source=SOURCE,
            subject="L-1001",
        )
        end = probe()
        await r.send(consumer, conflicting, late, bounced, end)
        reasons = [dict(record.headers)["dlt-reason"].decode() for record in await r.read_dead_letters(3)]
        assert len(reasons) == 3
        for reason, expected in zip(
            reasons,
            ["restructure_id_reused", "value_date_before_restructuring", "repayment_precedes_restructuring"],
            strict=True,
        ):
            assert f"PermanentError: {expected}: " in reason
        # Only the dead letters were written (through the outbox).
        after = await r.checksums()
        assert {k: v for k, v in after.items() if k != "outbox"} == {k: v for k, v in before.items() if k != "outbox"}
        assert await r.scalar("SELECT count(*) FROM outbox WHERE topic = :t", t=f"{r.topic}.dlt") == 3
        assert await r.scalar("SELECT count(*) FROM restructurings") == 1

        seen = len(await r.outbox_events())
        await r.advance("2026-04-22")
        closed = [e for e in (await r.outbox_events())[seen:] if e.type != "day-closed"]
        assert Counter(e.type for e in closed) == {"payment-due": 4, "payment-missed": 1, "delinquency-changed": 1}
        assert {e.data["installment_seq"] for e in closed if "installment_seq" in e.data} == {4}
        # Penalty now at 18% again (the contract rate stayed): 2 days × 500 × 0.18 / 365 = 0.4931507 → 0.49.
        state = await r.loan("L-1001")
        assert (state["dpd"], state["bucket"], state["penalty"]) == (2, "M1", D("0.49"))
