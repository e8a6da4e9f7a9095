"""External signals: POST /v1/external-signals and external-signal events, idempotent on signal_id, refused whole."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from ra_testkit import open_database
from sqlalchemy import text

from postloan_common.contracts import CustomerUpsertedV1, ExternalSignalV1, make_envelope
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_dev.testing import consumer_records
from postloan_risk_alert.consumers import make_handlers
from postloan_risk_alert.service.close_of_day import rescore
from postloan_risk_alert.service.external_signals import ingest_signals
from postloan_risk_alert.store.tables import inbox, outbox

pytestmark = pytest.mark.integration

LOAN = """
INSERT INTO loan_features (loan_id, customer_id, product, segment, principal, outstanding, annual_rate,
    disbursed_on, maturity_date, installment_count)
VALUES ('L-1', 'C-L-1', 'sme-working-capital', 'corporate', 500000, 400000, 0.06, '2026-02-02', '2027-02-02', 12)
RETURNING loan_id
"""


async def scalar(url: str, sql: str) -> Any:
    """The first value `sql` answers on the test's database, committed."""
    _, engine, sessions = open_database(url, "unused:1")
    try:
        async with sessions.begin() as session:
            return await session.scalar(text(sql))
    finally:
        await engine.dispose()


def signal(signal_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "signal_id": signal_id,
        "subject": "customer",
        "subject_id": "C-L-1",
        "source": "court-registry",
        "kind": "court_judgment",
        "severity": "high",
        "observed_on": "2026-03-02",
        "value": "250000.00",
        "details": {"case_id": "K-1", "status": "open"},
    }
    return {**body, **changes}


INDEX = {"subject": "industry", "subject_id": "C3130", "kind": "industry_index", "source": "nbs", "value": "98.5"}


async def test_signals_are_stored_once_listed_for_the_customer_and_a_bad_array_stores_nothing(ra_api, token) -> None:
    async with ra_api() as (client, url):
        await scalar(url, LOAN)
        system = token("system")
        one = await client.post("/v1/external-signals", json=signal("S-1"), headers=system)
        assert one.status_code == 201, one.text
        assert (one.json()["created"], one.json()["unchanged"]) == (1, 0)
        assert one.json()["signals"][0]["customer_id"] == "C-L-1"
        again = await client.post("/v1/external-signals", json=signal("S-1"), headers=system)
        assert (again.status_code, again.json()["created"], again.json()["unchanged"]) == (200, 0, 1)
        other = await client.post("/v1/external-signals", json=signal("S-1", severity="low"), headers=system)
        assert other.status_code == 409 and other.json()["errors"][0]["index"] == 0, other.text

        batch = [
            signal("S-2", subject="loan", subject_id="L-1", kind="bureau_inquiries", value="4", details=None),
            {**signal("S-3"), **INDEX},
            signal("S-1"),
        ]
        stored = await client.post("/v1/external-signals", json=batch, headers=token("admin"))
        assert stored.status_code == 201, stored.text
        assert (stored.json()["created"], stored.json()["unchanged"]) == (2, 1)
        assert [s["customer_id"] for s in stored.json()["signals"]] == ["C-L-1", None, "C-L-1"]
        audited = await scalar(url, "SELECT count(*) FROM audit_log WHERE action = 'external_signals.ingest'")
        assert audited == 2

        before = await scalar(url, "SELECT count(*) FROM external_signals")
        bad = [signal("T-0"), signal("T-1", kind="gossip"), signal("T-2", subject="loan", subject_id="L-404")]
        refused = await client.post("/v1/external-signals", json=bad, headers=system)
        assert refused.status_code == 422, refused.text
        assert [e["index"] for e in refused.json()["errors"]] == [1]  # the contract is checked first
        refused = await client.post("/v1/external-signals", json=[bad[0], bad[2]], headers=system)
        assert refused.status_code == 404, refused.text
        assert refused.json()["errors"] == [
            {"index": 1, "signal_id": "T-2", "status": 404, "reason": "unknown loan L-404"}
        ]
        assert await scalar(url, "SELECT count(*) FROM external_signals") == before

        listed = await client.get("/v1/customers/C-L-1/external-signals", headers=token("relationship_manager"))
        assert listed.status_code == 200, listed.text
        assert [s["signal_id"] for s in listed.json()["signals"]] == ["S-1", "S-2"]  # no industry recorded yet
        assert (await client.get("/v1/customers/C-404/external-signals", headers=system)).status_code == 404
        forbidden = await client.post("/v1/external-signals", json=signal("U-1"), headers=token("risk_officer"))
        assert forbidden.status_code == 403
        too_many = await client.post(
            "/v1/external-signals", json=[signal(f"U-{i}") for i in range(1001)], headers=system
        )
        assert too_many.status_code in (413, 422)


def event(data: ExternalSignalV1 | CustomerUpsertedV1) -> Envelope:
    subject = data.subject_id if isinstance(data, ExternalSignalV1) else data.customer_id
    return make_envelope(data=data, source="core-banking", subject=subject)


async def test_external_signal_events_are_stored_industries_kept_and_bad_ones_dead_lettered(migrated_database) -> None:
    url = await migrated_database("postloan_risk_alert")
    await scalar(url, LOAN)
    settings, engine, sessions = open_database(url, "unused:1")
    config = ConsumerConfig(name="risk-alert", topics=["core-banking.customers"], bootstrap_servers="unused:1")
    consumer = Consumer(config, sessions=sessions, inbox=inbox, outbox=outbox, batch_handlers=make_handlers(settings))
    customer = CustomerUpsertedV1.model_validate(
        {"customer_id": "C-L-1", "name": "Shanghai Steel", "national_id": "91310000X", "timezone": "Asia/Shanghai",
         "language": "zh-CN", "industry": "C3130"}
    )  # fmt: skip
    events = [
        event(customer),
        event(ExternalSignalV1.model_validate(signal("E-1"))),
        event(ExternalSignalV1.model_validate(signal("E-1"))),  # a redelivery under a new event id
        event(ExternalSignalV1.model_validate(signal("E-2", subject="loan", subject_id="L-404"))),
        event(ExternalSignalV1.model_validate(signal("E-1", severity="low"))),  # other content
        event(ExternalSignalV1.model_validate({**signal("E-3"), **INDEX})),
    ]
    await consumer.apply_batch(consumer_records("core-banking.customers", events))
    async with sessions() as session:
        stored = dict((await session.execute(text("SELECT signal_id, severity FROM external_signals"))).all())
        industry = await session.scalar(text("SELECT industry FROM customer_industries"))
        dead = await session.execute(
            text("SELECT headers->>'dlt-reason' FROM outbox WHERE topic = 'core-banking.customers.dlt'")
        )
        reasons = list(dead.scalars())
    await engine.dispose()
    assert stored == {"E-1": "high", "E-3": "high"}
    assert industry == "C3130"
    assert len(reasons) == 2, reasons
    assert any("unknown loan L-404" in r for r in reasons), reasons
    assert any("different content" in r for r in reasons), reasons


BOOK = """
INSERT INTO loan_features (loan_id, customer_id, product, segment, principal, outstanding, annual_rate,
    disbursed_on, maturity_date, installment_count)
VALUES ('L-a1', 'C-A', 'consumer-12m', 'retail', 12000, 6000, 0.12, '2025-12-01', '2026-12-01', 12),
       ('L-a2', 'C-A', 'consumer-12m', 'retail', 12000, 6000, 0.12, '2025-12-01', '2026-12-01', 12),
       ('L-b1', 'C-B', 'consumer-12m', 'retail', 12000, 6000, 0.12, '2025-12-01', '2026-12-01', 12),
       ('L-c1', 'C-C', 'consumer-12m', 'retail', 12000, 6000, 0.12, '2025-12-01', '2026-12-01', 12);
INSERT INTO customer_industries (customer_id, industry) VALUES ('C-B', 'C3130'), ('C-C', 'F5100')
"""
DAY = date(2026, 5, 14)


async def _open_alerts(sessions) -> set[tuple[str, str]]:
    async with sessions() as session:
        rows = await session.execute(
            text("SELECT rule_id, subject_id FROM alerts WHERE status = 'open' AND rule_id LIKE 'signal-%'")
        )
        return {(r.rule_id, r.subject_id) for r in rows}


async def test_a_court_judgment_raises_an_alert_on_every_loan_of_the_customer_at_close_of_day(
    migrated_database,
) -> None:
    settings, engine, sessions = open_database(await migrated_database("postloan_risk_alert"), "unused:1")
    judgment = signal("J-1", subject="loan", subject_id="L-a1", observed_on="2026-05-12")
    downturn = [
        {**signal("I-1", observed_on="2026-01-10"), **INDEX, "value": "100"},
        {**signal("I-2", observed_on="2026-05-13"), **INDEX, "value": "80"},
    ]
    async with sessions.begin() as session:
        for statement in BOOK.split(";"):
            await session.execute(text(statement))
        signals = [ExternalSignalV1.model_validate(s) for s in (judgment, *downturn)]
        assert not (await ingest_signals(session, signals=signals)).refusals
        await rescore(session, business_date=DAY, settings=settings)
    assert await _open_alerts(sessions) == {
        ("signal-court-judgment", "L-a1"),
        ("signal-court-judgment", "L-a2"),  # a judgment about one loan is about its borrower
        ("signal-industry-downturn", "L-b1"),  # C-C is in another industry
    }
    # The case is satisfied: the next close of day resolves the judgment's alerts.
    satisfied = signal(
        "J-2", observed_on="2026-05-14", subject_id="C-A", details={"case_id": "K-1", "status": "satisfied"}
    )
    async with sessions.begin() as session:
        assert not (await ingest_signals(session, signals=[ExternalSignalV1.model_validate(satisfied)])).refusals
        await rescore(session, business_date=DAY + timedelta(days=1), settings=settings)
    assert await _open_alerts(sessions) == {("signal-industry-downturn", "L-b1")}
    await engine.dispose()
