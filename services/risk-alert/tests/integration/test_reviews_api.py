"""The review API: policy under roles and audit, the worklist, assignment, completion with its effects."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from sqlalchemy import select, text

from postloan_common.contracts import parse_data
from postloan_common.db import create_engine, session_factory
from postloan_common.messaging.envelope import Envelope
from postloan_risk_alert.service.review_scheduling import schedule_reviews
from postloan_risk_alert.store.tables import audit_log, outbox

pytestmark = pytest.mark.integration

D = date(2026, 5, 14)
SEED = """
INSERT INTO loan_features (loan_id, customer_id, product, segment, principal, outstanding, disbursed_on,
    maturity_date, installment_count)
VALUES ('L-1', 'C-1', 'corp-loan', 'corporate', 500000, 400000, '2026-05-01', '2027-05-01', 12),
       ('L-2', 'C-2', 'consumer-12m', 'retail', 12000, 12000, '2026-04-20', '2027-04-20', 12)
"""


def _checklist(**worse: str) -> dict:
    items = ("repayment_source", "business_operation", "use_of_funds", "collateral", "guarantor", "other")
    return {k: {"result": worse.get(k, "ok"), "note": f"{k} checked"} for k in items}


FINANCIALS = {
    "period_end": "2026-03-31",
    "revenue": "1000000.00",
    "profit": "50000.00",
    "total_assets": "2000000.00",
    "total_liabilities": "1500000.00",
    "current_assets": "400000.00",
    "current_liabilities": "500000.00",
    "operating_cash_flow": "-20000.00",
}


async def _seed(url: str) -> None:
    engine = create_engine(url)
    async with session_factory(engine).begin() as session:
        await session.execute(text(SEED))
        await schedule_reviews(session, business_date=D, correlation_id=None)
    await engine.dispose()


async def test_review_policy_needs_a_risk_officer_and_is_audited(ra_api, token) -> None:
    async with ra_api() as (client, url):
        first = await client.get("/v1/review-policy", headers=token("risk_officer"))
        assert first.status_code == 200
        assert first.json()["version"] == 0
        assert first.json()["policy"]["non_retail"]["first_after_days"] == 15
        assert (await client.get("/v1/review-policy", headers=token("analyst"))).status_code == 403
        policy = first.json()["policy"]
        policy["retail"]["normal_every_days"] = 120
        assert (await client.put("/v1/review-policy", json=policy, headers=token("supervisor"))).status_code == 403
        changed = await client.put("/v1/review-policy", json=policy, headers=token("risk_officer", sub="ro-1"))
        assert changed.status_code == 200, changed.text
        assert changed.json()["version"] == 1
        assert changed.json()["policy"]["retail"]["normal_every_days"] == 120
        bad = await client.put("/v1/review-policy", json={**policy, "notice_days": -1}, headers=token("risk_officer"))
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "body.notice_days"
        engine = create_engine(url)
        async with session_factory(engine)() as session:
            actions = (await session.execute(select(audit_log.c.action, audit_log.c.actor))).all()
        await engine.dispose()
        assert ("review-policy.update", "ro-1") in [tuple(a) for a in actions]


async def test_reviews_are_listed_assigned_and_completed_once(ra_api, token) -> None:
    async with ra_api() as (client, url):
        await _seed(url)
        rm1, rm2 = token("relationship_manager", sub="rm-1"), token("relationship_manager", sub="rm-2")
        listed = await client.get("/v1/reviews", params={"kind": "first", "limit": 1}, headers=rm1)
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert [r["loan_id"] for r in page["items"]] == ["L-1"], "earliest due first: non-retail after 15 days"
        rest = await client.get("/v1/reviews", params={"kind": "first", "cursor": page["next_cursor"]}, headers=rm1)
        assert [r["loan_id"] for r in rest.json()["items"]] == ["L-2"]
        assert rest.json()["next_cursor"] is None
        assert (await client.get("/v1/reviews", params={"status": "late"}, headers=rm1)).status_code == 422
        review_id = page["items"][0]["review_id"]
        assert page["items"][0]["due_on"] == "2026-05-16"
        assert (await client.get("/v1/reviews/RV-none", headers=rm1)).status_code == 404

        assign = f"/v1/reviews/{review_id}/assign"
        assert (await client.post(assign, json={"assignee": "rm-1"}, headers=rm1)).status_code == 403
        assigned = await client.post(assign, json={"assignee": "rm-1"}, headers=token("supervisor"))
        assert assigned.status_code == 200 and assigned.json()["assignee"] == "rm-1"
        listed = await client.get("/v1/reviews", params={"assignee": "rm-1"}, headers=rm1)
        assert [r["review_id"] for r in listed.json()["items"]] == [review_id]

        content = b"%PDF-1.4 site visit"
        uploaded = await client.post(
            f"/v1/reviews/{review_id}/documents",
            params={"name": "visit.pdf"},
            content=content,
            headers={**rm1, "Content-Type": "application/pdf"},
        )
        assert uploaded.status_code == 201, uploaded.text
        sha = hashlib.sha256(content).hexdigest()
        assert uploaded.json() == {"sha256": sha, "name": "visit.pdf", "media_type": "application/pdf", "size": 19}
        document = {"name": "visit.pdf", "media_type": "application/pdf", "sha256": sha, "size": len(content)}

        complete = f"/v1/reviews/{review_id}/complete"
        body = {
            "findings": _checklist(use_of_funds="breach", collateral="concern"),
            "recommendation": "watch",
            "financials": FINANCIALS,
            "documents": [document],
        }
        refused = await client.post(complete, json=body, headers=rm2)
        assert refused.status_code == 403
        assert "assignee" in refused.json()["detail"]
        unknown = await client.post(
            complete, json={**body, "documents": [{**document, "sha256": "0" * 64}]}, headers=rm1
        )
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["field"] == "body.documents[0].sha256"

        done = await client.post(complete, json=body, headers=rm1)
        assert done.status_code == 200, done.text
        result = done.json()
        assert result["status"] == "done" and result["completed_by"] == "rm-1"
        assert result["alert_id"] and result["assessment_id"]
        assert result["findings"]["use_of_funds"]["result"] == "breach"
        again = await client.post(complete, json=body, headers=rm1)
        assert again.status_code == 200 and again.json() == result, "the same request again: the first answer"
        other = await client.post(complete, json={**body, "recommendation": "recall"}, headers=rm1)
        assert other.status_code == 409

        # `reclassify` opens a classification proposal for someone else to approve.
        second = rest.json()["items"][0]["review_id"]
        reclassify = {"findings": _checklist(repayment_source="concern"), "recommendation": "reclassify"}
        ro = token("risk_officer", sub="ro-1")
        missing = await client.post(f"/v1/reviews/{second}/complete", json=reclassify, headers=ro)
        assert missing.status_code == 422
        assert missing.json()["errors"][0]["field"] == "body.proposed_classification"
        proposed = await client.post(
            f"/v1/reviews/{second}/complete",
            json={**reclassify, "proposed_classification": "special_mention"},
            headers=ro,
        )
        assert proposed.status_code == 200, proposed.text
        pending = (await client.get("/v1/classification-proposals", params={"status": "pending"}, headers=ro)).json()
        assert [(p["proposal_id"], p["loan_id"]) for p in pending["items"]] == [(proposed.json()["proposal_id"], "L-2")]

        alert = await client.get(f"/v1/alerts/{result['alert_id']}", headers=token("risk_officer"))
        assert alert.json()["rule_id"] == "review-breach" and alert.json()["severity"] == "high"
        engine = create_engine(url)
        async with session_factory(engine)() as session:
            envelopes = [Envelope.from_bytes(p) for p in (await session.execute(select(outbox.c.payload))).scalars()]
            actions = (await session.execute(select(audit_log.c.action))).scalars().all()
        await engine.dispose()
        for envelope in envelopes:
            parse_data(envelope)
        completed = [e for e in envelopes if e.type == "review-completed" and e.data["review_id"] == review_id]
        assert len([e for e in envelopes if e.type == "review-completed"]) == 2
        assert len(completed) == 1
        assert completed[0].data["worst_finding"] == "breach"
        assert completed[0].data["alert_id"] == result["alert_id"]
        assert any(e.type == "risk-alert-raised" and e.data["rule_id"] == "review-breach" for e in envelopes)
        assert actions.count("review.complete") == 2
        assert {"review.assign", "review.document", "assessment.create"} - set(actions) == {"assessment.create"}
