"""Helpers shared by risk-alert integration tests: a database handle, producing to the broker, repayment events."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from postloan_common.contracts import LoanRegisteredV1, make_envelope
from postloan_common.contracts.common import EventData
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


def from_repayment_monitor(data: EventData, *, subject: str, on: date) -> Envelope:
    """`data` as repayment-monitor publishes it on business date `on`."""
    return make_envelope(data=data, source="repayment-monitor", subject=subject, business_date=on)


def loan_registered(loan_id: str, **fields: Any) -> Envelope:
    """A loan-registered event: a 12-month consumer loan of 12,000 CNY unless `fields` say otherwise."""
    loan: dict[str, Any] = {
        "loan_id": loan_id,
        "customer_id": f"C-{loan_id}",
        "product": "consumer-12m",
        "branch": "SH01",
        "currency": "CNY",
        "principal": Decimal("12000.00"),
        "annual_rate": Decimal("0.12"),
        "disbursed_on": date(2025, 6, 5),
        "installment_count": 12,
        "first_due_date": date(2025, 7, 5),
        "maturity_date": date(2026, 6, 5),
    } | fields
    return from_repayment_monitor(LoanRegisteredV1(**loan), subject=loan_id, on=loan["disbursed_on"])
