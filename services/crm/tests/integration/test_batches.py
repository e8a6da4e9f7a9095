"""Runs of events applied at once end in the same tables as the same events applied one by one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from crm_stream import LOANS, play, prepare, stream, tables
from crm_testkit import customer, due, loan, missed, moved
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.db import create_engine, session_factory
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_crm.consumers import build_batch_handlers, build_handlers
from postloan_crm.domain.strategy import StrategyTable
from postloan_crm.store.tables import inbox, outbox
from postloan_dev.testing import consumer_records

pytestmark = pytest.mark.integration


@dataclass
class Played:
    sessions: async_sessionmaker[AsyncSession]
    consumer: Consumer
    set_clock: Callable[[datetime], None]


@asynccontextmanager
async def fresh_crm(migrated_database, *, batched: bool = True) -> AsyncIterator[Played]:
    """A migrated crm database behind a consumer wired as the worker wires it (or with per-event handlers only)."""
    url = await migrated_database("postloan_crm")
    engine = create_engine(url)
    now = [datetime(2026, 3, 2, 2, 0, tzinfo=UTC)]

    def clock() -> datetime:
        return now[0]

    strategy = StrategyTable()
    consumer = Consumer(
        ConsumerConfig(name="crm", topics=[LOANS], bootstrap_servers="unused:1"),
        sessions=session_factory(engine),
        inbox=inbox,
        outbox=outbox,
        handlers=build_handlers(strategy=strategy, clock=clock),
        batch_handlers=build_batch_handlers(strategy=strategy, clock=clock) if batched else None,
    )
    try:
        sessions = session_factory(engine)
        await prepare(sessions)
        yield Played(sessions, consumer, lambda value: now.__setitem__(0, value))
    finally:
        await engine.dispose()


def poison() -> Envelope:
    """A payment-missed whose data breaks its contract: the batch fails and is re-applied event by event."""
    return Envelope(type="payment-missed", source="repayment-monitor", subject="L-POISON", data={"loan_id": "L-POISON"})


@pytest.mark.parametrize("seed", [11])
async def test_runs_applied_at_once_end_as_the_events_applied_one_by_one(migrated_database, seed: int):
    days = stream(seed, customers=25, loans=50, days=20)
    assert sum(len(events) for day in days for _, events in day.batches) > 800
    async with fresh_crm(migrated_database) as batched:
        await play(days, consumer=batched.consumer, sessions=batched.sessions, set_clock=batched.set_clock)
        at_once = await tables(batched.sessions)
    async with fresh_crm(migrated_database) as isolated:
        # Every batch carries a poison event, so the consumer applies it event by event in savepoints.
        await play(
            days, consumer=isolated.consumer, sessions=isolated.sessions, set_clock=isolated.set_clock, poison=poison
        )
        one_by_one = await tables(isolated.sessions)
    batches = sum(len(day.batches) for day in days)
    assert at_once.pop("dead_letters") == []
    assert one_by_one.pop("dead_letters") == [{"event_type": "payment-missed"}] * batches
    for name in at_once:
        assert at_once[name] == one_by_one[name], name
    # The stream reaches what it is meant to: cases through every queue, promises, reminders held and sent.
    kinds = {entry["kind"] for timeline in at_once["case_events"].values() for entry in timeline}
    assert kinds >= {"opened", "escalated", "de-escalated", "closed", "promise-kept", "promise-broken"}
    assert {c["close_reason"] for c in at_once["cases"]} >= {"cured", None}
    assert {r["status"] for r in at_once["communications"]} >= {"sent", "suppressed"}


async def test_a_run_with_several_events_of_one_loan_applies_them_in_order(migrated_database):
    events = [
        loan("L-1"),
        loan("L-2"),
        due("L-1", seq=1, days=7, due_date=date(2026, 3, 9)),
        due("L-1", seq=2, days=7, due_date=date(2026, 4, 9)),
        due("L-1", seq=1, days=3, amount="700.00", due_date=date(2026, 3, 9)),
        missed("L-1", dpd=1, bucket="M1"),
        missed("L-2", dpd=5, bucket="M1"),
        missed("L-1", dpd=3, bucket="M1"),
        moved("L-1", "C-77", "M1", "M2", 31, date(2026, 4, 5)),
        moved("L-1", "C-77", "M2", "M3", 61, date(2026, 5, 5)),
        moved("L-1", "C-77", "M3", "M2", 40, date(2026, 5, 6)),
        moved("L-2", "C-77", "M1", "M0", 0, date(2026, 5, 6)),
    ]
    async with fresh_crm(migrated_database) as crm, fresh_crm(migrated_database, batched=False) as reference:
        for played in (crm, reference):
            await played.consumer.apply_batch(consumer_records("core-banking.customers", [customer()], 0))
            await played.consumer.apply_batch(consumer_records(LOANS, events, 0))
        state = await tables(crm.sessions)
        assert state == await tables(reference.sessions)
    loans = {r["loan_id"]: r for r in state["loans"]}
    assert (loans["L-1"]["next_due_date"], loans["L-1"]["next_due_amount"]) == (date(2026, 4, 9), D("1020.00"))
    assert (loans["L-1"]["bucket"], loans["L-1"]["dpd"], loans["L-2"]["bucket"]) == ("M2", 40, "M0")
    assert [(r["seq"], r["amount_due"]) for r in state["installments_due"]] == [(1, D("700.00")), (2, D("1020.00"))]
    cases = {c["loan_id"]: c for c in state["cases"]}
    assert (cases["L-1"]["queue"], cases["L-2"]["queue"], cases["L-2"]["status"]) == ("phone", "automated", "open")
    timeline = [entry["kind"] for entry in state["case_events"][cases["L-1"]["case_id"]]]
    assert timeline == ["opened", "escalated", "escalated", "de-escalated"]
    assert len(state["communications"]) == 3
