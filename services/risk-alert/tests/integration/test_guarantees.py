"""Guarantees over the API; a delinquent guarantor or an expired guarantee warns the guaranteed loan."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from ra_testkit import open_database
from sqlalchemy import select, text

from postloan_common.contracts import parse_data
from postloan_common.messaging.envelope import Envelope
from postloan_risk_alert.service.close_of_day import rescore
from postloan_risk_alert.store.tables import outbox, reviews

pytestmark = pytest.mark.integration

D1 = date(2026, 5, 14)
SEED = """
INSERT INTO loan_features (loan_id, customer_id, product, segment, principal, outstanding, overdue, disbursed_on,
    maturity_date, installment_count, overdue_since, episode_started_on, episode_max, dpd, status)
VALUES ('L-g', 'C-1', 'consumer-12m', 'retail', 12000, 6000, 0, '2025-12-01', '2026-12-01', 12, NULL, NULL, 0, 0, 'active'),
       ('L-2', 'C-2', 'consumer-12m', 'retail', 12000, 6000, 500, '2025-12-01', '2026-12-01', 12,
        CAST(:late AS date), CAST(:late AS date), 20, 20, 'active'),
       ('L-x', 'C-3', 'consumer-12m', 'retail', 12000, 6000, 0, '2025-12-01', '2026-12-01', 12, NULL, NULL, 0, 0, 'active'),
       ('L-shut', 'C-3', 'consumer-12m', 'retail', 12000, 0, 0, '2025-01-01', '2026-01-01', 12, NULL, NULL, 0, 0, 'closed')
"""


async def test_guarantees_register_and_warn_the_guaranteed_loan(ra_api, token, devstack) -> None:
    async with ra_api() as (client, url):
        settings, engine, sessions = open_database(url, devstack.kafka_bootstrap)
        async with sessions.begin() as session:
            await session.execute(text(SEED), {"late": D1 - timedelta(days=20)})
        rm = token("relationship_manager", sub="rm-1")
        body = {
            "guarantee_id": "G-1",
            "loan_id": "L-g",
            "guarantor_customer_id": "C-2",
            "kind": "joint_and_several",
            "amount": "6000.00",
            "valid_until": "2027-01-01",
        }
        assert (await client.post("/v1/guarantees", json={**body, "loan_id": "L-none"}, headers=rm)).status_code == 404
        closed = await client.post("/v1/guarantees", json={**body, "loan_id": "L-shut"}, headers=rm)
        assert closed.status_code == 422 and closed.json()["errors"][0]["field"] == "body.loan_id"
        assert (await client.post("/v1/guarantees", json={**body, "amount": "0"}, headers=rm)).status_code == 422
        assert (await client.post("/v1/guarantees", json=body, headers=token("collector"))).status_code == 403
        created = await client.post("/v1/guarantees", json=body, headers=rm)
        assert created.status_code == 201, created.text
        assert created.json()["customer_id"] == "C-1"
        again = await client.post("/v1/guarantees", json=body, headers=rm)
        assert again.status_code == 200 and again.json() == created.json()
        assert (await client.post("/v1/guarantees", json={**body, "amount": "1.00"}, headers=rm)).status_code == 409
        expired = {
            **body,
            "guarantee_id": "G-2",
            "loan_id": "L-x",
            "guarantor_customer_id": "C-9",
            "valid_until": "2026-05-01",
        }
        assert (await client.post("/v1/guarantees", json=expired, headers=rm)).status_code == 201
        by_guarantor = await client.get("/v1/guarantees", params={"guarantor_customer_id": "C-2"}, headers=rm)
        assert [g["guarantee_id"] for g in by_guarantor.json()["items"]] == ["G-1"]
        assert (await client.get("/v1/guarantees", headers=rm)).status_code == 422

        async with sessions.begin() as session:
            await rescore(session, business_date=D1, settings=settings)
        alerts = (await client.get("/v1/alerts", params={"status": "open"}, headers=token())).json()["items"]
        by_loan = {(a["subject_id"], a["rule_id"]) for a in alerts}
        assert ("L-g", "guarantor-delinquent") in by_loan
        assert ("L-x", "guarantee-expired") in by_loan
        async with sessions() as session:
            triggered = dict(
                (
                    await session.execute(
                        select(reviews.c.loan_id, reviews.c.reason).where(reviews.c.kind == "triggered")
                    )
                ).all()
            )
            envelopes = [Envelope.from_bytes(p) for p in (await session.execute(select(outbox.c.payload))).scalars()]
        await engine.dispose()
        assert triggered["L-g"] == "guarantee_risk" and triggered["L-x"] == "guarantee_risk"
        registered = [e for e in envelopes if e.type == "guarantee-registered"]
        assert [e.data["guarantee_id"] for e in registered] == ["G-1", "G-2"]
        for envelope in registered:
            parse_data(envelope)
