"""Collateral over the API: validation, history, allocation; ECL and the risk view use it; breaches warn."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from ra_testkit import open_database
from sqlalchemy import select, text

from postloan_risk_alert.service.close_of_day import rescore
from postloan_risk_alert.store.tables import classifications, reviews

pytestmark = pytest.mark.integration

D1 = date(2026, 5, 14)
SEED = """
INSERT INTO loan_features (loan_id, customer_id, product, segment, principal, outstanding, annual_rate, disbursed_on,
    maturity_date, installment_count)
VALUES ('L-sec', 'C-1', 'corp-loan', 'corporate', 900000, 900000, 0.08, '2026-01-01', '2028-01-01', 24),
       ('L-bare', 'C-2', 'corp-loan', 'corporate', 900000, 900000, 0.08, '2026-01-01', '2028-01-01', 24),
       ('L-shut', 'C-1', 'corp-loan', 'corporate', 1000, 0, 0.08, '2025-01-01', '2026-01-01', 12)
"""
HOUSE = {
    "collateral_id": "K-1",
    "customer_id": "C-1",
    "kind": "real_estate",
    "description": "office floor, Pudong",
    "value": "1000000.00",
    "valued_on": "2026-03-01",
    "valuer": "Valuer & Co",
}


async def test_collateral_lifecycle_feeds_ecl_risk_view_and_rules(ra_api, token, devstack) -> None:
    async with ra_api() as (client, url):
        settings, engine, sessions = open_database(url, devstack.kafka_bootstrap)
        async with sessions.begin() as session:
            await session.execute(text(SEED))
            await session.execute(text("UPDATE loan_features SET status = 'closed' WHERE loan_id = 'L-shut'"))
            await rescore(session, business_date=D1, settings=settings)
        ro = token("risk_officer", sub="ro-1")
        assert (
            await client.post("/v1/collateral", json={**HOUSE, "customer_id": "C-none"}, headers=ro)
        ).status_code == 404
        future = await client.post("/v1/collateral", json={**HOUSE, "valued_on": "2027-01-01"}, headers=ro)
        assert future.status_code == 422 and future.json()["errors"][0]["field"] == "body.valued_on"
        assert (await client.post("/v1/collateral", json={**HOUSE, "value": "-1"}, headers=ro)).status_code == 422
        assert (await client.post("/v1/collateral", json=HOUSE, headers=token("collector"))).status_code == 403
        created = await client.post("/v1/collateral", json=HOUSE, headers=ro)
        assert created.status_code == 201, created.text
        assert created.json()["haircut"] == "0.3000" and created.json()["value_after_haircut"] == "700000.00"
        again = await client.post("/v1/collateral", json=HOUSE, headers=ro)
        assert again.status_code == 200 and again.json() == created.json()
        assert (await client.post("/v1/collateral", json={**HOUSE, "value": "2.00"}, headers=ro)).status_code == 409

        links = "/v1/collateral/K-1/loans"
        assert (await client.post(links, json={"loan_id": "L-none"}, headers=ro)).status_code == 404
        too_much = await client.post(links, json={"loan_id": "L-sec", "allocated_value": "1000000.01"}, headers=ro)
        assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "body.allocated_value"
        assert (await client.post(links, json={"loan_id": "L-shut"}, headers=ro)).status_code == 422
        linked = await client.post(links, json={"loan_id": "L-sec"}, headers=ro)
        assert linked.status_code == 201 and linked.json()["loans"] == [{"loan_id": "L-sec", "allocated_value": None}]

        revalued = await client.post(
            "/v1/collateral/K-1/valuations",
            json={"value": "1050000.00", "valued_on": "2026-05-01", "valuer": "B"},
            headers=ro,
        )
        assert revalued.status_code == 201
        assert [v["value"] for v in revalued.json()["valuations"]] == ["1000000.00", "1050000.00"]
        assert revalued.json()["value"] == "1050000.00"
        listed = await client.get("/v1/collateral", params={"customer_id": "C-1"}, headers=token("analyst"))
        assert [c["collateral_id"] for c in listed.json()["items"]] == ["K-1"]

        # LTV 900000 / 1050000 = 0.857 > 0.8: an alert and a triggered review; the secured part lowers the ECL.
        async with sessions.begin() as session:
            await rescore(session, business_date=D1 + timedelta(days=1), settings=settings)
        risk = (await client.get("/v1/risk/loans/L-sec", headers=ro)).json()
        assert risk["collateral_value"] == "735000.00"
        assert risk["coverage"] == "0.8167" and risk["ltv"] == "0.8571"
        assert risk["lgd"] < 0.45
        bare = (await client.get("/v1/risk/loans/L-bare", headers=ro)).json()
        assert (bare["collateral_value"], bare["coverage"], bare["ltv"], bare["lgd"]) == ("0", None, None, 0.45)
        async with sessions() as session:
            ecl = dict((await session.execute(select(classifications.c.loan_id, classifications.c.ecl))).all())
            review = (
                await session.execute(
                    select(reviews.c.reason).where(reviews.c.loan_id == "L-sec", reviews.c.kind == "triggered")
                )
            ).scalar()
        assert ecl["L-sec"] < ecl["L-bare"]
        assert review == "collateral_breach"
        alerts = (await client.get("/v1/alerts", params={"subject_id": "L-sec"}, headers=ro)).json()["items"]
        assert "ltv-above-0.8" in {a["rule_id"] for a in alerts}

        released = await client.delete("/v1/collateral/K-1/loans/L-sec", headers=ro)
        assert released.status_code == 200 and released.json()["loans"] == []
        assert (await client.delete("/v1/collateral/K-1/loans/L-sec", headers=ro)).status_code == 404
        await engine.dispose()
