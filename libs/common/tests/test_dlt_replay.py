"""`postloan dlt replay`: a dead-lettered event, once its cause is fixed, is applied once (issue 13, item 3)."""

from __future__ import annotations

import asyncio
import os
import uuid
from decimal import Decimal

import pytest
from demo_app import credit, inbox, on_credit, outbox, state
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncSession
from test_messaging import demo_db, produce, wait_until  # noqa: F401 - the fixture is used by name

from postloan_common.audit import audit_log_table
from postloan_common.db import sync_url
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.consumer import Consumer, ConsumerConfig, PermanentError
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.relay import OutboxRelay, RelayConfig
from postloan_common.ops.dlt import dlt_name, read_dead_letters, replay
from postloan_dev.devstack import DevStack

pytestmark = pytest.mark.integration


def test_a_topic_and_its_dead_letter_topic_name_the_same_dlt() -> None:
    assert dlt_name("core-banking.loans") == dlt_name("core-banking.loans.dlt") == "core-banking.loans.dlt"


async def test_a_replayed_dead_letter_is_applied_once_however_often_it_is_replayed(
    demo_db,  # noqa: F811
    devstack: DevStack,
    unique_topic,
):
    engine, sessions, url = demo_db
    async with engine.begin() as conn:
        await conn.run_sync(audit_log_table(MetaData()).create)
    topic, name = unique_topic("demo.replay"), f"demo-{uuid.uuid4().hex[:6]}"
    os.environ["DEMO_OUT_TOPIC"] = unique_topic("demo.out")
    await ensure_topics(devstack.kafka_bootstrap, [topic, dlt_name(topic), os.environ["DEMO_OUT_TOPIC"]], partitions=2)
    broken = True

    async def flaky_credit(session: AsyncSession, event: Envelope) -> None:
        if broken:
            raise PermanentError("the handler has a bug")
        await on_credit(session, event)

    event = credit("a", "5.00")
    await produce(devstack.kafka_bootstrap, topic, [(b"a", event.to_bytes())])
    stop = asyncio.Event()
    consumer = Consumer(
        ConsumerConfig(name=name, topics=[topic], bootstrap_servers=devstack.kafka_bootstrap, session_timeout_ms=6000),
        sessions=sessions,
        inbox=inbox,
        outbox=outbox,
        handlers={"credit-posted": flaky_credit},
    )
    relay = OutboxRelay(
        RelayConfig(service="demo", dsn=sync_url(url), bootstrap_servers=devstack.kafka_bootstrap, poll_interval_s=0.2)
    )
    tasks = [asyncio.create_task(consumer.run(stop)), asyncio.create_task(relay.run(stop))]
    try:

        async def dead_lettered():
            letters = await read_dead_letters(devstack.kafka_bootstrap, topic, idle_ms=300)
            return letters or None

        [letter] = await wait_until(dead_lettered, timeout=60, what="the event on the dead-letter topic")
        assert letter.event_id == event.id
        assert letter.summary()["consumer"] == name and letter.summary()["original_topic"] == topic
        assert letter.summary()["reason"] and "bug" in str(letter.summary()["reason"])

        broken = False  # the fix is deployed

        def url_for(consumer_name: str) -> str | None:
            return url if consumer_name == name else None

        [first] = await replay(devstack.kafka_bootstrap, topic, url_for=url_for, actor="test", event_id=event.id)
        assert first.replayed, first.detail

        async def applied():
            async with sessions() as session:
                return (await state(session))["balances"].get("a") == Decimal("5.00")

        await wait_until(applied, timeout=60, what="the replayed event to be applied")
        [second] = await replay(devstack.kafka_bootstrap, dlt_name(topic), url_for=url_for, actor="test")
        assert not second.replayed, "an applied event is not sent again"
        await asyncio.sleep(2)  # time enough for a second application to show
        async with sessions() as session:
            assert (await state(session))["ledger"] == 1
            audits = (await session.execute(text("SELECT actor, action, subject FROM audit_log"))).all()
        assert [tuple(a) for a in audits] == [("test", "dlt.replay", f"{topic}/{event.id}")]
        assert all(not t.done() for t in tasks), "the consumer or the relay stopped"
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)
        os.environ.pop("DEMO_OUT_TOPIC", None)
