"""A tiny service (ledger of credits) that exercises the outbox, inbox, consumer and relay for real."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, Identity, Numeric, String, Table, select, text
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from postloan_common.db import new_metadata, sync_url
from postloan_common.messaging.consumer import Consumer, ConsumerConfig, PermanentError
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.outbox import add_event
from postloan_common.messaging.relay import OutboxRelay, RelayConfig
from postloan_common.messaging.tables import NOTIFY_TRIGGER_DDL, add_messaging_tables

metadata = new_metadata()
outbox, inbox = add_messaging_tables(metadata)
# No unique key on event_id on purpose: a second application of an event would show as a second row.
ledger = Table(
    "ledger",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("account", String(50), nullable=False),
    Column("amount", Numeric(18, 2), nullable=False),
)
balances = Table(
    "balances",
    metadata,
    Column("account", String(50), primary_key=True),
    Column("balance", Numeric(18, 2), nullable=False),
)

OUT_TOPIC_ENV = "DEMO_OUT_TOPIC"


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        for ddl in NOTIFY_TRIGGER_DDL:
            await conn.execute(text(ddl))


async def on_credit(session: AsyncSession, event: Envelope) -> None:
    amount = Decimal(str(event.data["amount"]))
    account = str(event.data["account"])
    await session.execute(ledger.insert().values(event_id=event.id, account=account, amount=amount))
    stmt = insert(balances).values(account=account, balance=amount)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["account"], set_={"balance": balances.c.balance + amount})
    )
    delay_ms = float(os.environ.get("DEMO_SLOW_MS", "0"))
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    follow_up = Envelope(
        type="balance-changed",
        source="demo",
        subject=account,
        data={"account": account, "amount": str(amount)},
        causation_id=str(event.id),
    )
    await add_event(session, outbox, follow_up, topic=os.environ.get(OUT_TOPIC_ENV, "demo.balances"))


async def on_poison(session: AsyncSession, event: Envelope) -> None:
    raise PermanentError(f"poison event {event.data.get('why', '')}")


HANDLERS = {"credit-posted": on_credit, "poison": on_poison}


def credit(account: str, amount: str, **extra: object) -> Envelope:
    return Envelope(
        type="credit-posted",
        source="test",
        subject=account,
        data={"account": account, "amount": amount, **extra},
    )


async def state(session: AsyncSession) -> dict[str, object]:
    rows = (await session.execute(select(balances).order_by(balances.c.account))).all()
    count = (await session.execute(text("SELECT count(*) FROM ledger"))).scalar_one()
    distinct = (await session.execute(text("SELECT count(DISTINCT event_id) FROM ledger"))).scalar_one()
    out = (await session.execute(text("SELECT count(*) FROM outbox WHERE topic NOT LIKE '%.dlt'"))).scalar_one()
    return {
        "balances": {r.account: r.balance for r in rows},
        "ledger": count,
        "distinct": distinct,
        "outbox": out,
    }


def demo_consumer(
    sessions: async_sessionmaker[AsyncSession],
    *,
    bootstrap: str | None = None,
    topic: str = "demo.in",
    handlers: dict[str, Any] | None = None,
    **options: Any,
) -> Consumer:
    """The demo app's consumer: offline (batches applied by hand) unless a broker's `bootstrap` is given."""
    if bootstrap is None:
        config = ConsumerConfig(name="demo", topics=[topic], bootstrap_servers="unused:1")
    else:
        # A fresh group per test, and a short session so a rebalance does not stall the test.
        name = f"demo-{uuid.uuid4().hex[:6]}"
        config = ConsumerConfig(name=name, topics=[topic], bootstrap_servers=bootstrap, session_timeout_ms=6000)
    handlers = HANDLERS if handlers is None else handlers
    return Consumer(config, sessions=sessions, inbox=inbox, outbox=outbox, handlers=handlers, **options)


def demo_relay(url: str, bootstrap: str, *, service: str = "demo", **options: Any) -> OutboxRelay:
    """The demo app's outbox relay, polling every 0.2 s so tests see their events quickly."""
    config = RelayConfig(
        service=service, dsn=sync_url(url), bootstrap_servers=bootstrap, poll_interval_s=0.2, **options
    )
    return OutboxRelay(config)


@asynccontextmanager
async def running_demo(
    sessions: async_sessionmaker[AsyncSession], url: str, bootstrap: str, topic: str
) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Run the demo consumer of `topic` and its outbox relay until the block ends; yields their tasks."""
    stop = asyncio.Event()
    consumer = demo_consumer(sessions, bootstrap=bootstrap, topic=topic)
    relay = demo_relay(url, bootstrap)
    tasks = [asyncio.create_task(consumer.run(stop)), asyncio.create_task(relay.run(stop))]
    try:
        yield tasks
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)
