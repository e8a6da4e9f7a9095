"""Fund flows in: POST /v1/fund-flows and fund-moved events, idempotent on flow_id, refused whole."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from ra_testkit import loan_registered, produce
from sqlalchemy import text

from postloan_common.contracts import FundMovedV1, make_envelope
from postloan_common.db import create_engine, session_factory
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_risk_alert.consumers import make_handlers
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store.tables import inbox, outbox

pytestmark = pytest.mark.integration

DISBURSED = date(2026, 2, 2)


# A working-capital loan disbursed on DISBURSED: the fund-use rules trace what it financed.
SME_LOAN = {
    "product": "sme-working-capital",
    "principal": Decimal("500000.00"),
    "annual_rate": Decimal("0.06"),
    "disbursed_on": DISBURSED,
    "first_due_date": date(2026, 3, 2),
    "maturity_date": date(2027, 2, 2),
}


def registered(loan_id: str, purpose: str | None = "working_capital", currency: str = "CNY") -> Envelope:
    return loan_registered(loan_id, **SME_LOAN, purpose=purpose, currency=currency)


def flow(flow_id: str, loan_id: str = "L-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "flow_id": flow_id,
        "loan_id": loan_id,
        "occurred_on": "2026-02-05",
        "direction": "out",
        "amount": "120000.00",
        "currency": "CNY",
        "counterparty": {"name": "Steel Supply Co", "account": "6222-0001", "bank": "ICBC", "kind": "supplier"},
        "category": "5051",
        "channel": "cnaps",
    }
    return {**body, **changes}


async def register(url: str, *envelopes: Envelope) -> None:
    engine = create_engine(url)
    try:
        handler = make_handlers(Settings(database_url=url))["loan-registered"]
        async with session_factory(engine).begin() as session:
            await handler(session, list(envelopes))
    finally:
        await engine.dispose()


async def scalar(url: str, sql: str) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


async def test_flows_are_stored_once_and_a_bad_array_stores_nothing(ra_api, token) -> None:
    async with ra_api() as (client, url):
        await register(url, registered("L-1"), registered("L-2", purpose=None))
        assert await scalar(url, "SELECT purpose FROM loan_purposes WHERE loan_id = 'L-1'") == "working_capital"
        assert await scalar(url, "SELECT count(*) FROM loan_purposes WHERE loan_id = 'L-2'") == 0
        system = token("system")
        one = await client.post("/v1/fund-flows", json=flow("F-1"), headers=system)
        assert one.status_code == 201, one.text
        assert one.json() == {"created": 1, "unchanged": 0}
        again = await client.post("/v1/fund-flows", json=flow("F-1"), headers=system)
        assert (again.status_code, again.json()) == (200, {"created": 0, "unchanged": 1})
        other = await client.post("/v1/fund-flows", json=flow("F-1", amount="1.00"), headers=system)
        assert other.status_code == 409 and other.json()["errors"][0]["index"] == 0, other.text

        many = [flow(f"F-{i}", amount="1000.50", counterparty={"name": "P", "kind": "person"}) for i in range(2, 12)]
        stored = await client.post("/v1/fund-flows", json=[*many, flow("F-1")], headers=token("admin"))
        assert (stored.status_code, stored.json()) == (201, {"created": 10, "unchanged": 1}), stored.text
        totals = await scalar(
            url,
            "SELECT string_agg(counterparty_kind || ':' || amount || ':' || flows, ',' ORDER BY 1) "
            "FROM fund_flow_totals WHERE loan_id = 'L-1'",
        )
        assert totals == "person:10005.00:10,supplier:120000.00:1"

        before = await scalar(url, "SELECT count(*) FROM fund_flows")
        bad = [
            flow("G-0"),
            flow("G-1", loan_id="L-404"),
            flow("G-2", currency="USD"),
            flow("G-3", amount="-5.00"),
            flow("G-4", occurred_on="2026-01-31"),
        ]
        refused = await client.post("/v1/fund-flows", json=bad, headers=system)
        assert refused.status_code == 422, refused.text
        assert [e["index"] for e in refused.json()["errors"]] == [3]  # the contract is checked first
        refused = await client.post("/v1/fund-flows", json=[b for b in bad if b["flow_id"] != "G-3"], headers=system)
        assert refused.status_code == 422, refused.text
        errors = {e["index"]: (e["status"], e["reason"]) for e in refused.json()["errors"]}
        assert errors[1] == (404, "unknown loan L-404")
        assert errors[2][0] == 422 and "currency USD" in errors[2][1]
        assert errors[3][0] == 422 and "before the disbursement" in errors[3][1]
        assert 0 not in errors
        unknown = await client.post("/v1/fund-flows", json=flow("G-9", loan_id="L-404"), headers=system)
        assert unknown.status_code == 404 and "L-404" in unknown.json()["detail"]
        assert await scalar(url, "SELECT count(*) FROM fund_flows") == before

        assert (await client.post("/v1/fund-flows", json=flow("H-1"), headers=token("risk_officer"))).status_code == 403
        too_many = await client.post("/v1/fund-flows", json=[flow(f"H-{i}") for i in range(1001)], headers=system)
        assert too_many.status_code in (413, 422)
        schema = (await client.get("/openapi.json")).json()["paths"]["/v1/fund-flows"]["post"]
        assert "oneOf" in schema["requestBody"]["content"]["application/json"]["schema"]


def moved(flow_id: str, **changes: Any) -> Envelope:
    data = FundMovedV1.model_validate(flow(flow_id, **changes))
    return make_envelope(data=data, source="core-banking", subject=data.loan_id)


async def test_fund_moved_events_are_stored_and_bad_ones_dead_lettered(
    migrated_database, devstack, unique_topic, make_topics
) -> None:
    url = await migrated_database("postloan_risk_alert")
    await register(url, registered("L-1"))
    topic = unique_topic("core-banking.transactions")
    await make_topics(topic, partitions=1)
    engine = create_engine(url)
    sessions = session_factory(engine)
    consumer = Consumer(
        ConsumerConfig(
            name="risk-alert-funds", topics=[topic], bootstrap_servers=devstack.kafka_bootstrap, session_timeout_ms=6000
        ),
        sessions=sessions,
        inbox=inbox,
        outbox=outbox,
        batch_handlers=make_handlers(Settings(database_url=url)),
    )
    events = [
        moved("E-1"),
        moved("E-2", amount="5000.00"),
        moved("E-1"),  # a redelivery under a new event id: the same flow
        moved("E-3", loan_id="L-404"),
        moved("E-4", currency="USD"),
        moved("E-1", amount="9.99"),  # the same flow id with other content
        moved("E-5", direction="in", counterparty={"name": "Self", "kind": "borrower_self"}),
    ]
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await produce(devstack.kafka_bootstrap, topic, events)
        deadline = time.monotonic() + 60
        while await scalar(url, "SELECT count(*) FROM inbox WHERE consumer = 'risk-alert-funds'") < len(events) - 3:
            assert time.monotonic() < deadline, "the consumer did not apply the events"
            await asyncio.sleep(0.25)
        while await scalar(url, f"SELECT count(*) FROM outbox WHERE topic = '{topic}.dlt'") < 3:
            assert time.monotonic() < deadline, "the bad events were not dead-lettered"
            await asyncio.sleep(0.25)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    async with sessions() as session:
        flows = dict((await session.execute(text("SELECT flow_id, amount FROM fund_flows"))).all())
        reasons = [
            r[0]
            for r in await session.execute(
                text(f"SELECT headers->>'dlt-reason' FROM outbox WHERE topic = '{topic}.dlt'")
            )
        ]
    await engine.dispose()
    assert flows == {"E-1": Decimal("120000.00"), "E-2": Decimal("5000.00"), "E-5": Decimal("120000.00")}
    assert any("unknown loan L-404" in r for r in reasons), reasons
    assert any("currency USD" in r for r in reasons), reasons
    assert any("different content" in r for r in reasons), reasons


async def test_policies_are_data_with_defaults_audited_and_for_risk_officers(ra_api, token) -> None:
    async with ra_api() as (client, url):
        officer = token("risk_officer", sub="officer-1")
        default = await client.get("/v1/fund-use-policies/consumption", headers=officer)
        assert default.status_code == 200, default.text
        body = default.json()
        assert (body["version"], body["traced_share"], body["company_counterparty_limit"]) == (0, "0.80", "20000.00")
        assert "7995" in body["forbidden_categories"] and "lender" in body["forbidden_counterparty_kinds"]
        assert (await client.get("/v1/fund-use-policies/shares", headers=officer)).status_code == 422
        assert (await client.get("/v1/fund-use-policies/consumption", headers=token("analyst"))).status_code == 403

        change = {k: body[k] for k in body if k not in ("purpose", "version", "updated_by", "updated_at")}
        change |= {"traced_share": "0.9", "forbidden_categories": ["7995"]}
        assert (
            await client.put("/v1/fund-use-policies/consumption", json=change, headers=token("analyst"))
        ).status_code == 403
        bad = await client.put(
            "/v1/fund-use-policies/consumption", json={**change, "traced_share": "1.5"}, headers=officer
        )
        assert bad.status_code == 422
        put = await client.put("/v1/fund-use-policies/consumption", json=change, headers=officer)
        assert put.status_code == 200, put.text
        assert (put.json()["version"], put.json()["traced_share"], put.json()["updated_by"]) == (1, "0.9", "officer-1")
        again = await client.put("/v1/fund-use-policies/consumption", json=change, headers=token("admin"))
        assert again.json()["version"] == 2
        read = (await client.get("/v1/fund-use-policies/consumption", headers=officer)).json()
        assert (read["version"], read["forbidden_categories"]) == (2, ["7995"])
        assert (await client.get("/v1/fund-use-policies/equipment", headers=officer)).json()["version"] == 0
        audited = await scalar(
            url, "SELECT count(*) FROM audit_log WHERE action = 'fund_use_policy.update' AND subject = 'consumption'"
        )
        assert audited == 2
