"""Risk alerts reach the people through the real consumer, PostgreSQL and the API (issue 16 item 5)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from crm_testkit import customer, loan, missed

from postloan_common.contracts import ReviewDueV1, RiskAlertRaisedV1, RiskAlertResolvedV1, make_envelope
from postloan_common.messaging.envelope import Envelope

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
ON = date(2026, 3, 10)


def raised(alert_id: str, lid: str, severity: str, *, cid: str | None = "C-77") -> Envelope:
    data = RiskAlertRaisedV1(
        alert_id=alert_id,
        rule_id="R-DPD-JUMP",
        severity=severity,
        subject_type="loan",
        subject_id=lid,
        customer_id=cid,
        message="overdue on another bank's loan",
    )
    return make_envelope(data=data, source="risk-alert", subject=lid, business_date=ON)


def resolved(alert_id: str, lid: str) -> Envelope:
    data = RiskAlertResolvedV1(
        alert_id=alert_id,
        rule_id="R-DPD-JUMP",
        subject_type="loan",
        subject_id=lid,
        resolution="dismissed",
        resolved_by="analyst-1",
    )
    return make_envelope(data=data, source="risk-alert", subject=lid, business_date=ON)


def review_due(lid: str) -> Envelope:
    data = ReviewDueV1(
        review_id="REV-1",
        loan_id=lid,
        customer_id="C-77",
        kind="triggered",
        reason="high_severity_alert",
        due_on=date(2026, 3, 20),
    )
    return make_envelope(data=data, source="risk-alert", subject=lid, business_date=ON)


async def put_agents(client, headers) -> None:
    for agent_id, queues in (("rm-1", ["watch"]), ("phone-a", ["phone"])):
        response = await client.put(
            f"/v1/agents/{agent_id}", json={"name": agent_id, "team": "north", "queues": queues}, headers=headers
        )
        assert response.status_code == 200, response.text


async def test_a_high_alert_on_a_loan_without_a_case_opens_a_watch_case_for_its_relationship_manager(
    crm, crm_api, token
):
    rm = token("relationship_manager", "rm-1")
    async with crm_api(crm.url, now=NOW) as client:
        await put_agents(client, token("supervisor", "sup-1"))
        await crm.feed(customer(), topic="core-banking.customers")
        await crm.feed(loan("L-1"), loan("L-2"))
        await crm.feed(raised("A-1", "L-1", "high"), raised("A-2", "L-2", "medium"), topic="risk.scores")
        # The same alert delivered again under another envelope changes nothing.
        await crm.feed(raised("A-1", "L-1", "high"), topic="risk.scores")

        (case,) = await crm.rows("SELECT * FROM cases")
        assert (case["loan_id"], case["queue"], case["assignee"], case["bucket"]) == ("L-1", "watch", "rm-1", "M0")
        (opened,) = await crm.events("case-opened")
        assert opened.data["queue"] == "watch" and opened.data["assignee"] == "rm-1"
        kinds = [r["kind"] for r in await crm.rows("SELECT kind FROM case_events ORDER BY id")]
        assert kinds == ["opened", "risk_alert"]

        mine = await client.get("/v1/worklist", headers=rm)
        assert mine.status_code == 200, mine.text
        (item,) = mine.json()["items"]
        assert item["case_id"] == case["case_id"] and "risk_alert" in item["reasons"]

        timeline = await client.get("/v1/customers/C-77/timeline", headers=token("admin"))
        assert timeline.status_code == 200, timeline.text
        entries = timeline.json()["items"]
        assert [(e["kind"], e["ref_id"], e["severity"]) for e in entries] == [
            ("risk_alert_raised", "A-2", "medium"),
            ("risk_alert_raised", "A-1", "high"),
        ]
        # The watch case hardens to the strategy's queue once the loan falls overdue.
        await crm.feed(missed("L-1", dpd=35, bucket="M2", on=ON))
        (moved,) = await crm.rows("SELECT queue, assignee FROM cases")
        assert (moved["queue"], moved["assignee"]) == ("phone", "phone-a")


async def test_an_alert_ranks_the_case_first_until_it_is_resolved_and_reviews_reach_the_timeline(crm, crm_api, token):
    collector = token("collector", "phone-a")
    async with crm_api(crm.url, now=NOW) as client:
        await put_agents(client, token("supervisor", "sup-1"))
        await crm.feed(customer(), topic="core-banking.customers")
        # Two M2 cases of the same balance: without an alert the older case comes first.
        for lid in ("L-3", "L-2"):
            await crm.feed(loan(lid), missed(lid, dpd=35, bucket="M2", on=ON))
        order = [i["loan_id"] for i in (await client.get("/v1/worklist", headers=collector)).json()["items"]]
        assert order == ["L-3", "L-2"]

        await crm.feed(raised("A-9", "L-2", "high"), topic="risk.scores")
        assert len(await crm.rows("SELECT 1 FROM cases")) == 2  # it had a case: no watch case
        items = (await client.get("/v1/worklist", headers=collector)).json()["items"]
        assert [(i["loan_id"], "risk_alert" in i["reasons"]) for i in items] == [("L-2", True), ("L-3", False)]

        await crm.feed(resolved("A-9", "L-2"), review_due("L-2"), topic="risk.scores")
        items = (await client.get("/v1/worklist", headers=collector)).json()["items"]
        assert [i["loan_id"] for i in items] == ["L-3", "L-2"]
        assert all("risk_alert" not in i["reasons"] for i in items)

        page = await client.get("/v1/customers/C-77/timeline", params={"limit": 2}, headers=token("admin"))
        assert page.status_code == 200, page.text
        assert [e["kind"] for e in page.json()["items"]] == ["review_due", "risk_alert_resolved"]
        assert page.json()["items"][0]["due_on"] == "2026-03-20"
        rest = await client.get(
            "/v1/customers/C-77/timeline", params={"cursor": page.json()["next_cursor"]}, headers=token("admin")
        )
        assert [e["kind"] for e in rest.json()["items"]] == ["risk_alert_raised"]
        bad = await client.get("/v1/customers/C-77/timeline", params={"cursor": "bm9wZQ"}, headers=token("admin"))
        assert bad.status_code == 400
        case_kinds = [r["kind"] for r in await crm.rows("SELECT kind FROM case_events ORDER BY id")]
        assert case_kinds[-3:] == ["risk_alert", "risk_alert_resolved", "review_due"]
        assert (
            await client.get("/v1/customers/C-77/timeline", headers=token("collector", "nobody"))
        ).status_code == 404
