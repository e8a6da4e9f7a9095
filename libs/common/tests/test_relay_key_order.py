"""A transient produce failure holds back the later rows of its key, not the rows of other keys (relay review)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from aiokafka.errors import KafkaTimeoutError
from demo_app import create_schema, outbox
from sqlalchemy import text

from postloan_common.db import create_engine, session_factory, sync_url
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.outbox import add_event
from postloan_common.messaging.relay import OutboxRelay, RelayConfig

pytestmark = pytest.mark.integration


class _FlakyProducer:
    """Acknowledges every record but the first of key `a`, which times out as a broker hiccup would."""

    def __init__(self) -> None:
        self.failed = False

    async def send(self, **record: Any) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if record["key"] == b"a" and not self.failed:
            self.failed = True
            future.set_exception(KafkaTimeoutError())
        else:
            future.set_result(None)
        return future

    async def stop(self) -> None:
        pass


async def test_rows_after_a_transient_failure_of_their_key_stay_pending(database_url: str) -> None:
    engine = create_engine(database_url)
    await create_schema(engine)
    sessions = session_factory(engine)
    subjects = ["a", "a", "b", "a"]
    async with sessions.begin() as session:
        for n, subject in enumerate(subjects):
            event = Envelope(type="credit-posted", source="test", subject=subject, data={"n": n})
            await add_event(session, outbox, event, topic="demo.order")
    relay = OutboxRelay(RelayConfig(service="demo-order", dsn=sync_url(database_url), bootstrap_servers="unused:1"))
    relay._producer = _FlakyProducer()  # type: ignore[assignment]
    conn = await asyncpg.connect(sync_url(database_url))
    try:
        with pytest.raises(KafkaTimeoutError):
            await relay.publish_pending(conn)
        async with sessions() as session:
            rows = (await session.execute(text("SELECT key, published_at FROM outbox ORDER BY id"))).all()
        assert [(r.key, r.published_at is not None) for r in rows] == [
            ("a", False),  # failed
            ("a", False),  # acknowledged, but marking it would let the retry publish the first after it
            ("b", True),  # another key is not held back
            ("a", False),
        ]
        assert await relay.publish_pending(conn) == 3  # the retry sends key a again, in id order
        async with sessions() as session:
            assert (await session.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar() == 0
    finally:
        await conn.close()
        await engine.dispose()
