"""Collection cases through the real consumer and the API: strategy, escalation, balance, promises."""

from __future__ import annotations

from datetime import date

import pytest
from crm_testkit import classified, closed, cured, customer, day_closed, loan, missed, moved, received, score

pytestmark = pytest.mark.integration


async def add_agents(client, headers, *agents: tuple[str, list[str]], supervisor: str = "sup-1") -> None:
    """The agents in team north, with their supervisor as an inactive agent of the team (it scopes their reads)."""
    rows = [(a, {"queues": q}) for a, q in agents] + [(supervisor, {"queues": ["phone"], "active": False})]
    for agent_id, fields in rows:
        body = {"name": agent_id, "team": "north"} | fields
        response = await client.put(f"/v1/agents/{agent_id}", json=body, headers=headers)
        assert response.status_code == 200, response.text


async def the_case(client, headers, loan_id: str) -> dict:
    listing = await client.get("/v1/cases", params={"status": "open"}, headers=headers)
    assert listing.status_code == 200, listing.text
    (case,) = [c for c in listing.json()["items"] if c["loan_id"] == loan_id]
    detail = await client.get(f"/v1/cases/{case['case_id']}", headers=headers)
    assert detail.status_code == 200, detail.text
    return detail.json()


async def test_case_lifecycle_across_buckets(crm, crm_api, token):
    sup = token("supervisor", "sup-1")
    async with crm_api(crm.url) as client:
        await add_agents(client, sup, ("phone-a", ["phone"]), ("senior-a", ["senior"]))
        await crm.feed(customer(), topic="core-banking.customers")
        await crm.feed(loan(), score("L-1", "C-77", "0.03"), topic="repayment.loans")

        # M1, low risk: automated reminders only, nobody assigned.
        await crm.feed(missed(dpd=1, bucket="M1", on=date(2026, 3, 6)))
        case = await the_case(client, sup, "L-1")
        assert (case["queue"], case["assignee"], case["bucket"]) == ("automated", None, "M1")
        (opened,) = await crm.events("case-opened")
        assert opened.data["queue"] == "automated"
        assert opened.subject == "C-77"

        # A second missed installment opens no second case.
        await crm.feed(missed(dpd=5, bucket="M1", on=date(2026, 3, 10)))
        assert len(await crm.events("case-opened")) == 1

        # M2 → phone queue, assigned; M3 → senior.
        await crm.feed(moved("L-1", "C-77", "M1", "M2", 31, date(2026, 4, 5)))
        case = await the_case(client, sup, "L-1")
        assert (case["queue"], case["assignee"], case["bucket"]) == ("phone", "phone-a", "M2")
        await crm.feed(moved("L-1", "C-77", "M2", "M3", 61, date(2026, 5, 5)))
        case = await the_case(client, sup, "L-1")
        assert (case["queue"], case["assignee"]) == ("senior", "senior-a")
        # Back to M2 (a partial payment): de-escalated.
        await crm.feed(moved("L-1", "C-77", "M3", "M2", 40, date(2026, 5, 6)))
        case = await the_case(client, sup, "L-1")
        assert case["queue"] == "phone"
        assert [t["kind"] for t in case["timeline"]] == ["opened", "escalated", "escalated", "de-escalated"]

        # Cured: closed, with the money collected while it was open.
        await crm.feed(received(amount="2040.00", value_date=date(2026, 5, 7)), cured("L-1", "C-77", date(2026, 5, 7)))
        detail = (await client.get(f"/v1/cases/{case['case_id']}", headers=sup)).json()
        assert (detail["status"], detail["close_reason"], detail["amount_collected"]) == ("closed", "cured", "2040.00")
        (closed_event,) = await crm.events("case-closed")
        assert closed_event.data["reason"] == "cured"
        assert closed_event.data["amount_collected"] == "2040.00"

        # Delinquent again later: a new case; closed with the loan.
        await crm.feed(missed(dpd=1, bucket="M1", on=date(2026, 6, 6)))
        await crm.feed(closed("L-1", "C-77", date(2026, 6, 20)))
        cases = (await client.get("/v1/cases", params={"status": "closed"}, headers=sup)).json()["items"]
        assert sorted(c["close_reason"] for c in cases) == ["cured", "loan_closed"]


async def test_high_risk_m1_goes_to_phone_and_over_180_dpd_to_recovery(crm):
    await crm.feed(customer(), topic="core-banking.customers")
    await crm.feed(loan("L-H"), score("L-H", "C-77", "0.40"), missed("L-H", dpd=3, bucket="M1"))
    await crm.feed(loan("L-N"), classified("L-N", "C-77", "substandard"), missed("L-N", dpd=3, bucket="M1"))
    await crm.feed(
        loan("L-R"), missed("L-R", dpd=3, bucket="M1"), moved("L-R", "C-77", "M6", "M6+", 181, date(2026, 9, 1))
    )
    # Risk rising on an M1 case in the automated queue moves it to phone; no case is opened by risk alone.
    await crm.feed(loan("L-U"), missed("L-U", dpd=3, bucket="M1"), score("L-U", "C-77", "0.50"))
    await crm.feed(loan("L-Q"), score("L-Q", "C-77", "0.90"))
    rows = {r["loan_id"]: r["queue"] for r in await crm.rows("SELECT loan_id, queue FROM cases")}
    assert rows == {"L-H": "phone", "L-N": "phone", "L-R": "recovery", "L-U": "phone"}


async def test_assignment_is_balanced_and_a_supervisor_can_reassign(crm, crm_api, token):
    sup = token("supervisor", "sup-1")
    async with crm_api(crm.url) as client:
        await add_agents(client, sup, ("b-agent", ["phone"]), ("a-agent", ["phone", "senior"]), ("c-agent", ["phone"]))
        await crm.feed(customer(), topic="core-banking.customers")
        for i in range(7):
            await crm.feed(loan(f"L-{i}"), missed(f"L-{i}", dpd=35, bucket="M2"))
        rows = await crm.rows("SELECT assignee, count(*) AS n FROM cases GROUP BY assignee ORDER BY assignee")
        assert {r["assignee"]: r["n"] for r in rows} == {"a-agent": 3, "b-agent": 2, "c-agent": 2}
        first = (await crm.rows("SELECT case_id, assignee FROM cases WHERE loan_id = 'L-0'"))[0]
        assert first["assignee"] == "a-agent"  # ties broken by agent id

        forbidden = await client.post(
            f"/v1/cases/{first['case_id']}/assign", json={"agent_id": "c-agent"}, headers=token("collector")
        )
        assert forbidden.status_code == 403
        moved_case = await client.post(
            f"/v1/cases/{first['case_id']}/assign", json={"agent_id": "c-agent"}, headers=sup
        )
        assert moved_case.status_code == 200, moved_case.text
        assert moved_case.json()["assignee"] == "c-agent"
        assert moved_case.json()["timeline"][-1]["kind"] == "assigned"
        unknown = await client.post(f"/v1/cases/{first['case_id']}/assign", json={"agent_id": "nobody"}, headers=sup)
        assert unknown.status_code == 404
        by_assignee = await client.get("/v1/cases", params={"assignee": "c-agent", "limit": 2}, headers=sup)
        page = by_assignee.json()
        assert len(page["items"]) == 2
        assert page["next_cursor"]
        rest = await client.get(
            "/v1/cases", params={"assignee": "c-agent", "limit": 2, "cursor": page["next_cursor"]}, headers=sup
        )
        assert len(rest.json()["items"]) == 1
        audit = await crm.rows("SELECT actor, action FROM audit_log WHERE action = 'case.assign'")
        assert audit == [{"actor": "sup-1", "action": "case.assign"}]


async def test_promise_kept_and_promise_broken(crm, crm_api, token):
    collector = token("collector", "phone-a")  # the agent the M2 cases go to
    sup = token("supervisor")
    async with crm_api(crm.url) as client:
        await add_agents(client, sup, ("phone-a", ["phone"]), ("senior-a", ["senior"]), supervisor="tester")
        await crm.feed(customer(), topic="core-banking.customers")
        await crm.feed(loan("L-K"), missed("L-K", dpd=35, bucket="M2", on=date(2026, 3, 10)))
        await crm.feed(loan("L-B"), missed("L-B", dpd=35, bucket="M2", on=date(2026, 3, 10)))
        kept_case = await the_case(client, sup, "L-K")
        broken_case = await the_case(client, sup, "L-B")

        past = await client.post(
            f"/v1/cases/{kept_case['case_id']}/promises",
            json={"amount": "600.00", "promised_date": "2026-03-01"},
            headers=collector,
        )
        assert past.status_code == 422
        made = await client.post(
            f"/v1/cases/{kept_case['case_id']}/promises",
            json={"amount": "600.00", "promised_date": "2026-03-15"},
            headers=collector,
        )
        assert made.status_code == 201, made.text
        assert made.json()["made_on"] == "2026-03-10"
        other = await client.post(
            f"/v1/cases/{broken_case['case_id']}/promises",
            json={"amount": "500.00", "promised_date": "2026-03-12"},
            headers=collector,
        )
        assert other.status_code == 201, other.text

        # Two payments reach 600.00 on 14 March: kept.
        await crm.feed(
            received(
                "L-K", amount="250.00", value_date=date(2026, 3, 11), rid="R-1", dpd=36, bucket="M2", overdue="770.00"
            ),
            received(
                "L-K", amount="350.00", value_date=date(2026, 3, 14), rid="R-2", dpd=36, bucket="M2", overdue="420.00"
            ),
        )
        # Only 100.00 of 500.00 on L-B before its date passes.
        await crm.feed(received("L-B", amount="100.00", value_date=date(2026, 3, 11), rid="R-3", dpd=36, bucket="M2"))
        await crm.feed(day_closed(date(2026, 3, 11)))
        assert await crm.events("promise-broken") == []
        await crm.feed(day_closed(date(2026, 3, 12)), day_closed(date(2026, 3, 12), partition=1))

        (kept,) = await crm.events("promise-kept")
        assert kept.data["amount_paid"] == "600.00"
        assert kept.data["kept_on"] == "2026-03-14"
        (broken,) = await crm.events("promise-broken")
        assert broken.data["amount_paid"] == "100.00"
        assert broken.data["loan_id"] == "L-B"
        assert len(await crm.events("promise-to-pay-made")) == 2

        after = await the_case(client, sup, "L-B")
        assert (after["queue"], after["assignee"]) == ("senior", "senior-a")  # a broken promise escalates
        assert [t["kind"] for t in after["timeline"]][-3:] == ["promise-made", "promise-broken", "escalated"]
        assert [p["status"] for p in after["promises"]] == ["broken"]
        kept_detail = await the_case(client, sup, "L-K")
        assert kept_detail["queue"] == "phone"
        assert kept_detail["promises"][0]["status"] == "kept"
