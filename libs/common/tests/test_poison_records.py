"""No single record, however long, malformed or hostile, stops a consumer or the relay (issue 13, item 1)."""

from __future__ import annotations

import json
import os
import uuid
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaProducer
from demo_app import credit, running_demo, state
from pydantic import ValidationError
from sqlalchemy import text
from test_messaging import demo_db, wait_until  # noqa: F401 - the fixture is used by name

from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.records import reason as _reason
from postloan_dev.devstack import DevStack

pytestmark = pytest.mark.integration

PHONE = "13800138000"


def _envelope_json(**fields: object) -> bytes:
    base = {"id": str(uuid.uuid4()), "type": "credit-posted", "source": "test", "subject": "a", "data": {}}
    return json.dumps({**base, **fields}).encode()


def _hostile_records() -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
    def poison() -> bytes:
        return Envelope(type="poison", source="test", subject="a", data={"why": "x"}).to_bytes()

    return [
        (b"a", _envelope_json(type="a" * 161), []),  # longer than inbox.event_type
        (b"k" * 300, poison(), []),  # longer than outbox.key
        (b"a", _envelope_json(data={"account": "a\u0000b", "amount": "1.00"}), []),  # NUL reaches a text column
        (b"a\x00b", poison(), [("h\x00", b"v\x00"), ("x" * 300, b"y" * 5000)]),  # NUL and size in key and headers
        (b"a", b'\xff\xfe{"type": "credit-posted"}', []),  # not UTF-8
        (b"a", json.dumps({"pad": "x" * 900_000}).encode(), []),  # a 900 KB value that is no envelope
        (b"another-partitions-loan", credit("a", "5.00").to_bytes(), []),  # key and subject disagree
    ]


async def _produce(bootstrap: str, topic: str, records) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_request_size=2_000_000)
    await producer.start()
    try:
        for key, value, headers in records:
            await (await producer.send(topic, value=value, key=key, headers=headers))
    finally:
        await producer.stop()


async def test_hostile_records_are_dead_lettered_and_the_partition_moves_on(
    demo_db,  # noqa: F811
    devstack: DevStack,
    unique_topic,
):
    _engine, sessions, url = demo_db
    topic = unique_topic("demo.hostile")
    os.environ["DEMO_OUT_TOPIC"] = unique_topic("demo.out")
    await ensure_topics(devstack.kafka_bootstrap, [topic, f"{topic}.dlt", os.environ["DEMO_OUT_TOPIC"]], partitions=1)
    records = [
        (b"a", credit("a", "1.00").to_bytes(), []),
        *_hostile_records(),
        (b"a", credit("a", "2.00").to_bytes(), []),
    ]
    await _produce(devstack.kafka_bootstrap, topic, records)
    try:
        async with running_demo(sessions, url, devstack.kafka_bootstrap, topic) as tasks:

            async def applied():
                async with sessions() as session:
                    return (await state(session))["balances"].get("a") == Decimal("8.00")

            await wait_until(applied, timeout=90, what="the good records around the hostile ones to be applied")

            async def dead_letters_published():
                async with sessions() as session:
                    rows = (
                        await session.execute(
                            text("SELECT key, published_at, headers FROM outbox WHERE topic = :t ORDER BY id"),
                            {"t": f"{topic}.dlt"},
                        )
                    ).all()
                return rows if len(rows) == 6 and all(r.published_at for r in rows) else None

            dead = await wait_until(dead_letters_published, timeout=60, what="six dead letters, all published")
            assert all(len(r.key) <= 200 and "\x00" not in r.key for r in dead)
            assert all("\x00" not in json.dumps(r.headers) for r in dead)
            assert all(not t.done() for t in tasks), "the consumer or the relay stopped"
    finally:
        os.environ.pop("DEMO_OUT_TOPIC", None)


def test_a_dead_letter_reason_names_the_field_not_its_value():
    with pytest.raises(ValidationError) as caught:
        Envelope.model_validate_json(_envelope_json(subject="", source=PHONE * 30))
    reason = _reason(caught.value)
    assert "subject" in reason and "source" in reason
    assert PHONE not in reason
