"""Outbox, relay, inbox, consumer loop and dead letters against real PostgreSQL and Tansu."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from demo_app import HANDLERS, create_schema, credit, demo_consumer, demo_relay, outbox, running_demo, state
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from postloan_common.contracts import ExternalSignalV1, make_envelope
from postloan_common.db import create_engine, driver_connection, session_factory
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.consumer import Barrier, PermanentError, is_transient
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.outbox import add_event
from postloan_common.ops.dlt import assign_from_start
from postloan_dev.devstack import DevStack, Tansu, free_port
from postloan_dev.testing import consumer_records, wait_until

pytestmark = pytest.mark.integration
HERE = Path(__file__).parent


@pytest.fixture
async def demo_db(database_url):
    engine = create_engine(database_url)
    await create_schema(engine)
    yield engine, session_factory(engine), database_url
    await engine.dispose()


async def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        await assign_from_start(consumer, topic)
        records: list = []
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for recs in batch.values():
                records.extend(recs)
        # Drain a little longer to catch anything published more than once.
        extra = await consumer.getmany(timeout_ms=500)
        for recs in extra.values():
            records.extend(recs)
        return records
    finally:
        await consumer.stop()


async def produce(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=v, key=k) for k, v in values]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def test_events_written_while_broker_is_down_are_published_in_order(demo_db, tmp_path, unique_topic):
    engine, sessions, url = demo_db
    proxy_port = free_port()
    broker = Tansu(advertised_port=proxy_port, log_path=tmp_path / "tansu.log").start()
    from tcp_proxy import TcpProxy

    proxy = TcpProxy(listen_port=proxy_port, target_port=broker.port)
    topic = unique_topic("demo.outage")
    stop = asyncio.Event()
    try:
        await proxy.up()
        await ensure_topics(broker.bootstrap, [topic], partitions=3)
        await proxy.down()

        expected: dict[str, list[str]] = defaultdict(list)
        for i in range(60):
            subject = f"acct-{i % 5}"
            event = Envelope(type="credit-posted", source="test", subject=subject, data={"n": i})
            async with sessions.begin() as session:
                await add_event(session, outbox, event, topic=topic)
            expected[subject].append(str(event.id))

        relay = demo_relay(url, broker.bootstrap, max_backoff_s=1.0)
        task = asyncio.create_task(relay.run(stop))
        await asyncio.sleep(3)
        async with sessions() as session:
            pending = (await session.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar()
            attempts = (await session.execute(text("SELECT max(attempts) FROM outbox"))).scalar()
        assert pending == 60, "nothing can be published while the broker is unreachable"
        assert attempts >= 1, "the relay records its failed attempts"

        await proxy.up()

        async def all_published():
            async with sessions() as session:
                return (
                    await session.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
                ).scalar() == 0

        await wait_until(all_published, timeout=60, what="the outbox to drain")
        records = await read_topic(broker.bootstrap, topic, 60)
        seen: dict[str, list[str]] = defaultdict(list)
        for record in records:
            envelope = Envelope.from_bytes(record.value)
            assert record.key.decode() == envelope.subject
            if str(envelope.id) not in seen[envelope.subject]:
                seen[envelope.subject].append(str(envelope.id))
        assert dict(seen) == dict(expected), "every event arrives, in order per subject"
        stop.set()
        await asyncio.wait_for(task, 15)
    finally:
        stop.set()
        await proxy.down()
        broker.stop()


async def test_delivering_the_same_batch_twice_has_no_second_effect(demo_db):
    _engine, sessions, _url = demo_db
    consumer = demo_consumer(sessions)
    events = [credit("a", "10.10"), credit("b", "5.00"), credit("a", "0.01")]
    batch = consumer_records("demo.in", events)
    await consumer.apply_batch(batch)
    async with sessions() as session:
        first = await state(session)
    await consumer.apply_batch(batch)
    await consumer.apply_batch(batch[1:] + batch[:1])  # redelivered in another order
    async with sessions() as session:
        second = await state(session)
    assert first == {
        "balances": {"a": Decimal("10.11"), "b": Decimal("5.00")},
        "ledger": 3,
        "distinct": 3,
        "outbox": 3,
    }
    assert second == first


async def test_same_event_twice_in_one_batch_applies_once(demo_db):
    _engine, sessions, _url = demo_db
    consumer = demo_consumer(sessions)
    event = credit("a", "1.00")
    await consumer.apply_batch(consumer_records("demo.in", [event, event, credit("a", "2.00")]))
    async with sessions() as session:
        assert (await state(session))["balances"] == {"a": Decimal("3.00")}


async def test_an_event_type_without_a_handler_is_skipped_not_dead_lettered(demo_db):
    # crm and reporting read core-banking.customers without handling external-signal: they pass over it.
    _engine, sessions, _url = demo_db
    consumer = demo_consumer(sessions)
    signal = make_envelope(
        data=ExternalSignalV1.model_validate(
            {"signal_id": "S-1", "subject": "customer", "subject_id": "a", "source": "court-registry",
             "kind": "court_judgment", "severity": "high", "observed_on": "2026-03-02"}
        ),
        source="core-banking",
        subject="a",
    )  # fmt: skip
    await consumer.apply_batch(consumer_records("demo.in", [credit("a", "1.00"), signal, credit("a", "2.00")]))
    async with sessions() as session:
        assert (await state(session))["balances"] == {"a": Decimal("3.00")}
        dead = (await session.execute(text("SELECT count(*) FROM outbox WHERE topic LIKE '%.dlt'"))).scalar_one()
        inbox_rows = (await session.execute(text("SELECT count(*) FROM inbox"))).scalar_one()
    assert dead == 0
    assert inbox_rows == 3, "the skipped event is marked seen like the others"


async def test_malformed_and_poison_events_are_dead_lettered_and_the_partition_goes_on(
    demo_db, devstack: DevStack, unique_topic
):
    _engine, sessions, url = demo_db
    topic = unique_topic("demo.dlt-case")
    out_topic = unique_topic("demo.out")
    os.environ["DEMO_OUT_TOPIC"] = out_topic
    await ensure_topics(devstack.kafka_bootstrap, [topic, f"{topic}.dlt", out_topic], partitions=1)
    poison = Envelope(type="poison", source="test", subject="a", data={"why": "bad-data"})
    values = [
        (b"a", credit("a", "1.00").to_bytes()),
        (b"a", b"this is not json"),
        (b"a", json.dumps({"type": "credit-posted"}).encode()),  # valid JSON, not an envelope
        (b"a", poison.to_bytes()),
        (b"a", credit("a", "2.00").to_bytes()),
    ]
    await produce(devstack.kafka_bootstrap, topic, values)
    try:
        async with running_demo(sessions, url, devstack.kafka_bootstrap, topic):

            async def applied():
                async with sessions() as session:
                    return (await state(session))["balances"].get("a") == Decimal("3.00")

            await wait_until(applied, what="the good events after the poison to be applied")
            dead = await read_topic(devstack.kafka_bootstrap, f"{topic}.dlt", 3)
            assert len(dead) == 3
            reasons = [dict(r.headers)["dlt-reason"].decode() for r in dead]
            assert "malformed envelope" in reasons[0]
            assert "malformed envelope" in reasons[1]
            assert "PermanentError" in reasons[2] and "bad-data" in reasons[2]
            assert dead[0].value == b"this is not json"
            assert {dict(r.headers)["dlt-original-topic"].decode() for r in dead} == {topic}
            assert [int(dict(r.headers)["dlt-original-offset"]) for r in dead] == [1, 2, 3]
    finally:
        os.environ.pop("DEMO_OUT_TOPIC", None)


async def test_worker_killed_mid_batch_ends_in_the_same_state(demo_db, devstack: DevStack, unique_topic):
    _engine, sessions, url = demo_db
    topic = unique_topic("demo.kill")
    await ensure_topics(devstack.kafka_bootstrap, [topic, f"{topic}.dlt", "demo.balances"], partitions=2)
    amounts: dict[str, Decimal] = defaultdict(Decimal)
    values = []
    for i in range(1500):
        account = f"acct-{i % 7}"
        amount = f"{(i % 97) + 1}.{i % 100:02d}"
        amounts[account] += Decimal(amount)
        values.append((account.encode(), credit(account, amount).to_bytes()))
    await produce(devstack.kafka_bootstrap, topic, values)

    group = f"demo-kill-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "DEMO_SLOW_MS": "2"}

    def start_worker() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, str(HERE / "demo_worker.py"), url, devstack.kafka_bootstrap, topic, group],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def ledger_count() -> int:
        async with sessions() as session:
            return (await session.execute(text("SELECT count(*) FROM ledger"))).scalar_one()

    kills = 0
    worker = start_worker()
    try:
        for threshold in (200, 600, 1000):
            await wait_until(
                lambda t=threshold: _at_least(ledger_count, t),
                timeout=90,
                interval=0.05,
                what=f"{threshold} events applied",
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            kills += 1
            worker = start_worker()
        await wait_until(lambda: _at_least(ledger_count, 1500), timeout=120, what="all events applied")
        await asyncio.sleep(2)  # anything applied twice would show up now
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
    async with sessions() as session:
        final = await state(session)
    assert kills == 3
    assert final == {"balances": dict(amounts), "ledger": 1500, "distinct": 1500, "outbox": 1500}


async def _at_least(counter, threshold: int) -> bool:
    return await counter() >= threshold


async def test_batch_handlers_get_runs_in_order_and_poison_is_isolated(demo_db):
    _engine, sessions, _url = demo_db
    calls: list[list[str]] = []

    async def on_credits(session, events):
        calls.append([e.data["amount"] for e in events])
        for event in events:
            if event.data["amount"] == "13.00":
                raise ValueError("unlucky amount")
            await HANDLERS["credit-posted"](session, event)

    consumer = demo_consumer(
        sessions, batch_handlers={"credit-posted": on_credits}, handlers={"poison": HANDLERS["poison"]}
    )
    poison = Envelope(type="poison", source="test", subject="a", data={"why": "x"})
    events = [credit("a", "1.00"), credit("a", "2.00"), poison, credit("a", "13.00"), credit("a", "4.00")]
    await consumer.apply_batch(consumer_records("demo.in", events))
    # Fast path: two runs split by the poison; then one event at a time after the failure.
    assert calls[:2] == [["1.00", "2.00"], ["13.00", "4.00"]] or calls[0] == ["1.00", "2.00"]
    async with sessions() as session:
        final = await state(session)
        dead = (
            await session.execute(
                text("SELECT event_type, headers->>'dlt-reason' FROM outbox WHERE topic = 'demo.in.dlt' ORDER BY id")
            )
        ).all()
    assert final["balances"] == {"a": Decimal("7.00")}
    assert [row[0] for row in dead] == ["poison", "credit-posted"]
    assert "unlucky amount" in dead[1][1]


@pytest.mark.parametrize("check_fails_once", [False, True], ids=["steady", "dropped-connection-in-check"])
async def test_a_barrier_holds_each_partition_until_every_partition_reached_it(
    demo_db, devstack, unique_topic, check_fails_once
):
    _engine, sessions, _url = demo_db
    topic = unique_topic("demo.barrier")
    await ensure_topics(devstack.kafka_bootstrap, [topic, f"{topic}.dlt", "demo.balances"], partitions=2)
    order: list[str] = []
    closed: set[int] = set()

    async def on_credit(session, event):
        order.append(event.data["amount"])

    async def on_close(session, event):
        closed.add(event.data["partition"])
        order.append(f"close-{event.data['partition']}")

    failures = [OperationalError("SELECT 1", {}, ConnectionResetError("server closed the connection"))]

    async def released(session, event):
        if check_fails_once and failures:
            raise failures.pop()  # a dropped connection must not end the consumer
        return closed == {0, 1}

    def close(partition: int) -> Envelope:
        return Envelope(type="day-closed", source="test", subject=f"p{partition}", data={"partition": partition})

    async def produce_to(partition: int, envelopes: list[Envelope]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=devstack.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for e in envelopes:
                await (await producer.send(topic, value=e.to_bytes(), key=e.subject.encode(), partition=partition))
        finally:
            await producer.stop()

    # Partition 0 runs a day ahead; partition 1's day-closed comes later.
    await produce_to(0, [credit("a", "1.00"), close(0), credit("a", "2.00")])
    stop = asyncio.Event()
    consumer = demo_consumer(
        sessions,
        bootstrap=devstack.kafka_bootstrap,
        topic=topic,
        handlers={"credit-posted": on_credit, "day-closed": on_close},
        barrier=Barrier(event_type="day-closed", released=released, check_interval_s=0.05),
    )
    task = asyncio.create_task(consumer.run(stop))
    try:

        async def partition_0_held():
            return "close-0" in order

        await wait_until(partition_0_held, what="partition 0 to reach its day-closed")
        await produce_to(1, [credit("b", "3.00"), close(1)])

        async def all_applied():
            return len(order) == 5

        await wait_until(all_applied, what="every event to be applied")
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert not failures or not check_fails_once
    # The next day's event on partition 0 waited for partition 1's day-closed.
    assert order.index("2.00") > order.index("close-1")
    assert order.index("1.00") < order.index("close-0")


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (asyncpg.DeadlockDetectedError("deadlock detected"), True),
        (asyncpg.SerializationError("could not serialize access"), True),
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), True),
        (asyncpg.LockNotAvailableError("could not obtain lock"), True),
        (OperationalError("SELECT 1", {}, ConnectionResetError("server closed the connection")), True),
        (ConnectionResetError("reset by peer"), True),
        (asyncpg.UniqueViolationError("duplicate key"), False),
        (PermanentError("bad event"), False),
        (ValueError("bug"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_which_failures_a_retry_can_cure(exc, transient):
    # Errors of the raw asyncpg connection (driver_connection) count as much as SQLAlchemy's.
    assert is_transient(exc) is transient


async def test_raw_statements_run_inside_the_sessions_transaction(demo_db):
    _engine, sessions, _url = demo_db
    async with sessions.begin() as session:
        connection = await driver_connection(session)
        assert connection.is_in_transaction()  # else each raw statement would commit on its own
        await connection.execute("CREATE TABLE raw_probe (x int)")
        await session.rollback()
    async with sessions() as session:
        exists = (await session.execute(text("SELECT to_regclass('raw_probe') IS NOT NULL"))).scalar_one()
    assert exists is False
