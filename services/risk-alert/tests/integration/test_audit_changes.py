"""Audited risk-alert updates record each changed field's old and new value."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text

from postloan_common.db import create_engine, session_factory
from postloan_risk_alert.service.review_scheduling import schedule_reviews
from postloan_risk_alert.store.tables import audit_log

pytestmark = pytest.mark.integration

RULE = {
    "rule_id": "grade-e",
    "name": "Grade E",
    "condition": {"all": [{"feature": "grade", "op": "in", "value": ["E"]}]},
    "severity": "high",
}
ASSESSMENT = {
    "customer_id": "C-9",
    "period_end": "2025-12-31",
    "revenue": "1000000.00",
    "profit": "50000.00",
    "total_assets": "2000000.00",
    "total_liabilities": "1000000.00",
    "current_assets": "400000.00",
    "current_liabilities": "500000.00",
    "operating_cash_flow": "-20000.00",
    "interest_expense": "25000.00",
}


async def audit_changes(url: str, action: str) -> list[dict]:
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        stmt = select(audit_log.c.details).where(audit_log.c.action == action).order_by(audit_log.c.id)
        rows = (await session.execute(stmt)).scalars().all()
    await engine.dispose()
    return [r["changes"] for r in rows]


async def test_rule_update_records_old_and_new_values_of_what_changed(ra_api, token) -> None:
    async with ra_api() as (client, url):
        assert (await client.post("/v1/rules", json=RULE, headers=token("risk_officer"))).status_code == 201
        changed = {k: v for k, v in RULE.items() if k != "rule_id"} | {"severity": "critical"}
        assert (await client.put("/v1/rules/grade-e", json=changed, headers=token())).status_code == 200
        (diff,) = await audit_changes(url, "rule.update")
    assert diff == {"severity": {"old": "high", "new": "critical"}, "version": {"old": 1, "new": 2}}


async def test_alert_steps_record_old_and_new_status_and_assignee(ra_api, token) -> None:
    async with ra_api() as (client, url):
        assert (await client.post("/v1/assessments", json=ASSESSMENT, headers=token("system"))).status_code == 201
        (alert,) = (await client.get("/v1/alerts", params={"status": "open"}, headers=token("analyst"))).json()["items"]
        alert_id = alert["alert_id"]
        assert (await client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=token(sub="o-1"))).status_code == 200
        moved = await client.post(f"/v1/alerts/{alert_id}/assign", json={"assignee": "o-2"}, headers=token())
        assert moved.status_code == 200, moved.text
        (acked,) = await audit_changes(url, "alert.acknowledge")
        (assigned,) = await audit_changes(url, "alert.assign")
    assert acked == {"status": {"old": "open", "new": "acknowledged"}, "assignee": {"old": None, "new": "o-1"}}
    assert assigned == {"assignee": {"old": "o-1", "new": "o-2"}}


async def test_review_policy_put_records_the_field_that_changed(ra_api, token) -> None:
    async with ra_api() as (client, url):
        policy = (await client.get("/v1/review-policy", headers=token("risk_officer"))).json()["policy"]
        was = policy["retail"]["normal_every_days"]
        policy["retail"]["normal_every_days"] = was + 30
        assert (await client.put("/v1/review-policy", json=policy, headers=token("risk_officer"))).status_code == 200
        (diff,) = await audit_changes(url, "review-policy.update")
    assert set(diff) == {"retail", "version"}
    assert diff["version"] == {"old": 0, "new": 1}
    assert (diff["retail"]["old"]["normal_every_days"], diff["retail"]["new"]["normal_every_days"]) == (was, was + 30)


async def test_fund_use_policy_put_records_old_and_new_values(ra_api, token) -> None:
    async with ra_api() as (client, url):
        officer = token("risk_officer")
        body = (await client.get("/v1/fund-use-policies/consumption", headers=officer)).json()
        change = {k: body[k] for k in body if k not in ("purpose", "version", "updated_by", "updated_at")}
        change |= {"traced_share": "0.9"}
        assert (await client.put("/v1/fund-use-policies/consumption", json=change, headers=officer)).status_code == 200
        (diff,) = await audit_changes(url, "fund_use_policy.update")
    assert diff == {"traced_share": {"old": "0.80", "new": "0.9"}, "version": {"old": 0, "new": 1}}


async def test_review_assignment_records_the_old_and_new_assignee(ra_api, token) -> None:
    async with ra_api() as (client, url):
        engine = create_engine(url)
        async with session_factory(engine).begin() as session:
            await session.execute(
                text(
                    "INSERT INTO loan_features (loan_id, customer_id, product, segment, principal, outstanding,"
                    " disbursed_on, maturity_date, installment_count) VALUES ('L-1', 'C-1', 'corp-loan',"
                    " 'corporate', 500000, 400000, '2026-05-01', '2027-05-01', 12)"
                )
            )
            await schedule_reviews(session, business_date=date(2026, 5, 14), correlation_id=None)
        await engine.dispose()
        (review,) = (await client.get("/v1/reviews", headers=token("supervisor"))).json()["items"]
        assign = f"/v1/reviews/{review['review_id']}/assign"
        for who in ("rm-1", "rm-2"):
            assert (await client.post(assign, json={"assignee": who}, headers=token("supervisor"))).status_code == 200
        first, second = await audit_changes(url, "review.assign")
    assert first == {"assignee": {"old": None, "new": "rm-1"}}
    assert second == {"assignee": {"old": "rm-1", "new": "rm-2"}}
