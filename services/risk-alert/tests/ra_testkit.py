"""Helpers shared by risk-alert integration tests: a database handle beside the API, producing to the broker."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from postloan_common.db import create_engine, session_factory
from postloan_common.messaging.envelope import Envelope
from postloan_risk_alert.settings import Settings


def open_database(url: str, kafka_bootstrap: str) -> tuple[Settings, AsyncEngine, async_sessionmaker[AsyncSession]]:
    """Settings, an engine (the caller disposes it) and a session factory for the test's database."""
    engine = create_engine(url)
    return Settings(database_url=url, kafka_bootstrap_servers=kafka_bootstrap), engine, session_factory(engine)


async def produce(bootstrap: str, topic: str, envelopes: list[Envelope]) -> None:
    """Send `envelopes` to partition 0 of `topic`, keyed by subject, and wait for each."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(topic, envelope.to_bytes(), key=envelope.subject.encode(), partition=0)
    finally:
        await producer.stop()
