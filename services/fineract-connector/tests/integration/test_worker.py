"""Fineract-shaped records on the real broker → the connector worker → core-banking events in its outbox."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from postloan_common.db import engine_scope
from postloan_common.messaging.envelope import Envelope
from postloan_common.web import mint_token
from postloan_common.worker import serve_worker
from postloan_dev.devstack import DevStack
from postloan_dev.testing import TEST_JWT_SECRET, wait_until
from postloan_fineract_connector.consumers import batch_handlers, decoder
from postloan_fineract_connector.settings import Settings
from postloan_fineract_connector.store.tables import inbox, outbox

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PACKAGE = "postloan_fineract_connector"


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    """Send (key, value) pairs as Fineract does: raw bytes, no headers."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def rows(url: str, sql: str) -> list[dict]:
    async with engine_scope(url) as engine, engine.connect() as conn:
        return [dict(r._mapping) for r in await conn.execute(text(sql))]


def batch(records, tenant: str) -> list[tuple[bytes, bytes]]:
    """A disbursal, a repayment, its reversal, a client, an informational event and a bulk COB message."""
    k = records.long_key
    loan, txn, client = records.loan_account(), records.transaction(), records.client()
    return [
        (k(3), records.message("ClientCreateBusinessEvent", records.CLIENT, client, key=f"{tenant}-1", tenant=tenant)),
        (k(7), records.message("LoanDisbursalBusinessEvent", records.LOAN, loan, key=f"{tenant}-2", tenant=tenant)),
        (
            k(7),
            records.message(
                "LoanTransactionMakeRepaymentPostBusinessEvent",
                records.TXN,
                txn,
                key=f"{tenant}-3",
                tenant=tenant,
                release="1.13.0",
            ),
        ),
        (
            k(7),
            records.message(
                "LoanAdjustTransactionBusinessEvent",
                records.ADJUST,
                {"transactionToAdjust": txn},
                key=f"{tenant}-4",
                tenant=tenant,
            ),
        ),
        (
            k(7),
            records.message(
                "LoanRepaymentDueBusinessEvent",
                "x.LoanRepaymentDueDataV1",
                {},
                key=f"{tenant}-5",
                tenant=tenant,
                raw_data=b"\xc3\x01" + bytes(8),
            ),
        ),
        (
            k(7),
            records.bulk(
                [
                    ("LoanTransactionMakeRepaymentPostBusinessEvent", records.TXN, records.transaction(txn=12)),
                    ("LoanAccountSnapshotBusinessEvent", records.LOAN, loan),
                ],
                key=f"{tenant}-6",
                tenant=tenant,
                release="1.13.0",
            ),
        ),
    ]


async def test_fineract_records_become_core_banking_events_once(
    records, migrated_database, devstack: DevStack, make_topics, unique_topic, monkeypatch: pytest.MonkeyPatch
):
    url = await migrated_database(PACKAGE)
    topic = unique_topic("external-events")
    await make_topics(topic)
    tenant = f"t{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
    monkeypatch.setenv("KAFKA_SESSION_TIMEOUT_MS", "6000")
    settings = Settings(service_name=f"fineract-test-{tenant}", database_url=url, outbox_poll_interval_s=0.2)
    options = settings.mapping_options()
    stop = asyncio.Event()
    worker = asyncio.create_task(
        serve_worker(
            settings=settings,
            tables=(outbox, inbox),
            handlers={},
            batch_handlers=batch_handlers(options),
            topics=[topic],
            decode=decoder(options),
            stop=stop,
        )
    )
    produced = "SELECT event_type, key, payload FROM outbox WHERE topic LIKE 'core-banking.%' ORDER BY id"
    try:
        sent = batch(records, tenant)
        unknown = bytearray(sent[0][1])
        unknown[2:10] = (0xDEADBEEF00000001).to_bytes(8, "little")
        await produce(devstack.kafka_bootstrap, topic, [*sent, (records.long_key(9), bytes(unknown))])

        async def seen():
            found = await rows(url, "SELECT count(*) AS n FROM inbox")
            return found[0]["n"] >= 7

        await wait_until(seen, what="all records in the inbox")
        events = await rows(url, produced)
        assert [e["event_type"] for e in events] == [
            "customer-upserted",
            "loan-booked",
            "repayment-posted",
            "repayment-reversed",
            "repayment-posted",
        ]
        booked = Envelope.from_bytes(events[1]["payload"])
        assert booked.subject == events[1]["key"] == f"fineract:{tenant}:7"
        assert len(booked.data["installments"]) == 3

        dead = await rows(url, f"SELECT key, headers FROM outbox WHERE topic = '{topic}.dlt'")
        assert len(dead) == 1
        assert "unknown Avro schema fingerprint deadbeef00000001" in dead[0]["headers"]["dlt-reason"]

        # Fineract re-sends the batch (same idempotency keys, new `source`): nothing new comes out.
        await produce(devstack.kafka_bootstrap, topic, batch(records, tenant))

        # A marker after the re-sent batch: once it is in, the re-sent records were consumed too.
        marker = records.message("ClientActivateBusinessEvent", records.CLIENT, records.client(), tenant=tenant)
        await produce(devstack.kafka_bootstrap, topic, [(records.long_key(3), marker)])

        async def marker_in():
            return (await rows(url, "SELECT count(*) AS n FROM inbox"))[0]["n"] >= 8

        await wait_until(marker_in, what="the marker after the re-sent batch")
        events = [*events, {"event_type": "customer-upserted"}]
        assert [e["event_type"] for e in await rows(url, produced)] == [e["event_type"] for e in events]

        counts = await rows(url, "SELECT event_type, outcome, count FROM event_counts ORDER BY event_type")
        by_type = {(r["event_type"], r["outcome"]): r["count"] for r in counts}
        assert by_type[("LoanRepaymentDueBusinessEvent", "skipped")] == 1
        assert by_type[("LoanAccountSnapshotBusinessEvent", "skipped")] == 1
        assert by_type[("LoanTransactionMakeRepaymentPostBusinessEvent", "mapped")] == 2
        ids = await rows(url, "SELECT kind, fineract_id FROM id_map ORDER BY kind")
        assert {(r["kind"], r["fineract_id"]) for r in ids} == {("customer", 3), ("loan", 7)}
    finally:
        stop.set()
        assert await asyncio.wait_for(worker, 30) == 0


async def test_status_names_roles_and_reports_schemas(migrated_database, devstack: DevStack, monkeypatch):
    url = await migrated_database(PACKAGE)
    monkeypatch.setenv("FINERACT_CONNECTOR_DATABASE_URL", url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
    monkeypatch.setenv("POSTLOAN_JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.setenv("POSTLOAN_ENV", "test")
    from postloan_fineract_connector.main import create_app

    app = create_app()

    def auth(*roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(secret=TEST_JWT_SECRET, sub='t', roles=list(roles))}"}

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/v1/status")).status_code == 401
            denied = await client.get("/v1/status", headers=auth())
            assert denied.status_code == 403
            assert denied.headers["content-type"].startswith("application/problem+json")
            ok = await client.get("/v1/status", headers=auth("admin"))
            assert ok.status_code == 200
            body = ok.json()
            assert body["events"] == [] and body["mapped_ids"] == {}
            releases = {s["release"] for s in body["schemas"]}
            assert releases == {"1.9.0", "1.10.1", "1.12.1", "1.13.0"}
            assert (await client.get("/health/ready")).status_code == 200
