"""The crm worker end to end: events on the broker → consumer → case and reminder → SMS → crm.activities."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from crm_testkit import Provider, customer, due, loan, missed
from sqlalchemy import text

from postloan_common.catalog import CRM_ACTIVITIES
from postloan_common.db import engine_scope
from postloan_common.messaging.envelope import Envelope
from postloan_common.worker import serve_worker
from postloan_crm.adapters.channels import senders_from
from postloan_crm.consumers import build_batch_handlers, build_handlers
from postloan_crm.domain.contact_policy import ContactPolicy
from postloan_crm.service.policies import replace_policies
from postloan_crm.settings import Settings
from postloan_crm.store.tables import inbox, outbox
from postloan_crm.worker import sender_task
from postloan_dev.devstack import DevStack
from postloan_dev.testing import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def produce(bootstrap: str, topic: str, events: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(topic, value=event.to_bytes(), key=event.subject.encode())
    finally:
        await producer.stop()


async def activities_of(bootstrap: str, customer_id: str) -> list[Envelope]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(CRM_ACTIVITIES) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(CRM_ACTIVITIES) or set()
        consumer.assign([TopicPartition(CRM_ACTIVITIES, p) for p in sorted(partitions)])
        await consumer.seek_to_beginning()
        found: list[Envelope] = []
        for _ in range(4):
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                found.extend(Envelope.from_bytes(r.value) for r in records)
        return [e for e in found if e.subject == customer_id]
    finally:
        await consumer.stop()


async def test_worker_consumes_opens_cases_sends_reminders_and_publishes(
    migrated_database, devstack: DevStack, make_topics, unique_topic, monkeypatch: pytest.MonkeyPatch
):
    url = await migrated_database("postloan_crm")
    customers_topic, loans_topic = unique_topic("core-banking.customers"), unique_topic("repayment.loans")
    await make_topics(customers_topic, loans_topic)
    async with engine_scope(url) as engine, engine.begin() as conn:
        # No quiet hours for SMS in this test: the worker runs on the wall clock.
        from sqlalchemy.ext.asyncio import AsyncSession

        session = AsyncSession(bind=conn)
        await replace_policies(session, policies=[ContactPolicy("CN", "sms")], actor="test")
        await session.flush()
    cid = f"C-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
    monkeypatch.setenv("KAFKA_SESSION_TIMEOUT_MS", "6000")
    async with Provider() as sms:
        settings = Settings(
            service_name=f"crm-test-{uuid.uuid4().hex[:6]}",
            database_url=url,
            sms_webhook_url=sms.url,
            sender_interval_s=0.2,
            awaiting_customer_retry_s=0.5,
            outbox_poll_interval_s=0.2,
        )
        stop = asyncio.Event()
        worker = asyncio.create_task(
            serve_worker(
                settings=settings,
                tables=(outbox, inbox),
                handlers=build_handlers(strategy=settings.strategy()),
                batch_handlers=build_batch_handlers(strategy=settings.strategy()),
                topics=[customers_topic, loans_topic],
                extra_tasks=[sender_task(settings=settings, senders=senders_from(settings))],
                stop=stop,
            )
        )
        try:
            await produce(devstack.kafka_bootstrap, customers_topic, [customer(cid)])
            await produce(
                devstack.kafka_bootstrap, loans_topic, [loan("L-W", cid), due("L-W", cid), missed("L-W", cid)]
            )

            async def state():
                async with engine_scope(url) as eng, eng.connect() as c:
                    case = (await c.execute(text("SELECT queue FROM cases WHERE loan_id = 'L-W'"))).scalar()
                    sent = (await c.execute(text("SELECT status FROM communications WHERE loan_id = 'L-W'"))).scalar()
                    published = (
                        await c.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"))
                    ).scalar()
                last.append((case, sent, published))
                return (case, sent, published) if case and sent == "sent" and published >= 2 else None

            last: list = []
            try:
                case_queue, _, _ = await wait_until(state, what="case, sent reminder and published events")
            except AssertionError:
                raise AssertionError(f"last state {last[-1:]}") from None
            assert case_queue == "automated"
            assert [r["json"]["to"] for r in sms.requests] == ["+8613800138000"]
            assert sms.requests[0]["headers"]["idempotency-key"]
            published = await activities_of(devstack.kafka_bootstrap, cid)
            assert sorted(e.type for e in published) == ["case-opened", "reminder-sent"]
        finally:
            stop.set()
            assert await asyncio.wait_for(worker, 30) == 0
