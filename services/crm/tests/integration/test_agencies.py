"""Agencies and placements through the API: who places what, and what an agency sees and records (issue 16 item 4)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from crm_testkit import customer, loan, missed

pytestmark = pytest.mark.integration

NOW = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
AGENCY_A = {"name": "Huadong Recovery", "commission_rate": "0.25", "active": True}
RESULT = {"channel": "phone", "connected": True, "outcome": "promise_to_pay", "note": "will pay"}


async def setup(crm, client, sup) -> tuple[str, str]:
    """C-77's loan L-1 in the recovery queue, C-88's L-2 in the phone queue; return both case ids."""
    for agent_id, queues in (("rec-a", ["recovery"]), ("phone-a", ["phone"]), ("sup-1", ["recovery"])):
        body = {"name": agent_id, "team": "north", "queues": queues, "active": agent_id != "sup-1"}
        assert (await client.put(f"/v1/agents/{agent_id}", json=body, headers=sup)).status_code == 200
    await crm.feed(customer("C-77"), customer("C-88"), topic="core-banking.customers")
    await crm.feed(loan("L-1", "C-77"), missed("L-1", "C-77", dpd=200, bucket="M6+", on=date(2026, 9, 10)))
    await crm.feed(loan("L-2", "C-88"), missed("L-2", "C-88", dpd=35, bucket="M2", on=date(2026, 9, 10)))
    cases = {r["loan_id"]: r for r in await crm.rows("SELECT case_id, loan_id, queue FROM cases")}
    assert (cases["L-1"]["queue"], cases["L-2"]["queue"]) == ("recovery", "phone")
    return cases["L-1"]["case_id"], cases["L-2"]["case_id"]


async def test_agencies_are_put_idempotently_and_listed(crm, crm_api, token):
    sup, admin = token("supervisor", "sup-1"), token("admin", "root")
    async with crm_api(crm.url, now=NOW) as client:
        created = await client.put("/v1/agencies/agency-a", json=AGENCY_A, headers=sup)
        assert created.status_code == 201, created.text
        assert created.json() == {"agency_id": "agency-a", **AGENCY_A, "commission_rate": "0.2500"}
        again = await client.put("/v1/agencies/agency-a", json=AGENCY_A, headers=admin)
        assert again.status_code == 200
        changed = await client.put("/v1/agencies/agency-a", json=AGENCY_A | {"active": False}, headers=sup)
        assert (changed.status_code, changed.json()["active"]) == (200, False)
        for rate in ("1.5", "-0.1", "0.12345"):
            bad = await client.put("/v1/agencies/agency-b", json=AGENCY_A | {"commission_rate": rate}, headers=sup)
            assert bad.status_code == 422, rate
        denied = await client.put("/v1/agencies/agency-b", json=AGENCY_A, headers=token("collector", "rec-a"))
        assert denied.status_code == 403
        listed = (await client.get("/v1/agencies", headers=sup)).json()["items"]
        assert [(a["agency_id"], a["active"]) for a in listed] == [("agency-a", False)]
        assert (await client.get("/v1/agencies", headers=token("agency", "agency-a"))).status_code == 403
    audits = await crm.rows("SELECT action, details FROM audit_log WHERE action = 'agency.put' ORDER BY id")
    assert len(audits) == 2  # the repeated PUT changed nothing and is not a second change
    assert audits[1]["details"]["changes"] == {"active": {"old": True, "new": False}}


async def test_only_open_recovery_cases_go_to_active_agencies(crm, crm_api, token):
    sup = token("supervisor", "sup-1")
    async with crm_api(crm.url, now=NOW) as client:
        recovery, phone = await setup(crm, client, sup)
        await client.put("/v1/agencies/agency-a", json=AGENCY_A, headers=sup)
        await client.put("/v1/agencies/agency-z", json=AGENCY_A | {"active": False}, headers=sup)

        async def place(case_id: str, agency_id: str, headers=sup):
            return await client.post(f"/v1/cases/{case_id}/placements", json={"agency_id": agency_id}, headers=headers)

        assert (await place(recovery, "agency-none")).status_code == 404
        assert (await place("CASE-none", "agency-a")).status_code == 404
        assert (await place(recovery, "agency-a", headers=token("collector", "rec-a"))).status_code == 403
        for case_id, agency_id, reason in (
            (recovery, "agency-z", "agency_inactive"),
            (phone, "agency-a", "not_in_recovery_queue"),
        ):
            refused = await place(case_id, agency_id)
            assert refused.status_code == 409
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["reason"] == reason
        placed = await place(recovery, "agency-a")
        assert placed.status_code == 201, placed.text
        assert (placed.json()["status"], placed.json()["commission_rate"]) == ("active", "0.2500")
        twice = await place(recovery, "agency-a")
        assert (twice.status_code, twice.json()["reason"]) == (409, "already_placed")

        placement_id = placed.json()["placement_id"]
        recalled = await client.post(f"/v1/placements/{placement_id}/recall", headers=sup)
        assert (recalled.status_code, recalled.json()["status"]) == (200, "recalled")
        again = await client.post(f"/v1/placements/{placement_id}/recall", headers=sup)
        assert again.json()["recalled_at"] == recalled.json()["recalled_at"]
        assert (await client.post("/v1/placements/PL-none/recall", headers=sup)).status_code == 404
        history = (await client.get(f"/v1/cases/{recovery}/placements", headers=sup)).json()["items"]
        assert [p["status"] for p in history] == ["recalled"]
    placed_events, recalled_events = await crm.events("case-placed"), await crm.events("case-recalled")
    assert [e.data["agency_id"] for e in placed_events] == ["agency-a"]
    assert len(recalled_events) == 1  # the second recall had no second effect
    actions = [r["action"] for r in await crm.rows("SELECT action FROM audit_log ORDER BY id")]
    assert (actions.count("case.place"), actions.count("placement.recall")) == (1, 1)
    kinds = [r["kind"] for r in await crm.rows("SELECT kind FROM case_events WHERE case_id = :c", c=recovery)]
    assert "placed" in kinds and "recalled" in kinds


async def test_an_agency_sees_and_records_only_what_was_placed_with_it(crm, crm_api, token):
    sup, mine, other = token("supervisor", "sup-1"), token("agency", "agency-a"), token("agency", "agency-b")
    async with crm_api(crm.url, now=NOW) as client:
        recovery, phone = await setup(crm, client, sup)
        for agency_id in ("agency-a", "agency-b"):
            await client.put(f"/v1/agencies/{agency_id}", json=AGENCY_A, headers=sup)
        placed = await client.post(f"/v1/cases/{recovery}/placements", json={"agency_id": "agency-a"}, headers=sup)
        assert placed.status_code == 201

        listed = (await client.get("/v1/cases", headers=mine)).json()["items"]
        assert [c["case_id"] for c in listed] == [recovery]
        assert (await client.get("/v1/cases", headers=other)).json()["items"] == []
        assert (await client.get(f"/v1/cases/{recovery}", headers=mine)).status_code == 200
        assert (await client.get(f"/v1/cases/{phone}", headers=mine)).status_code == 404
        assert (await client.get(f"/v1/cases/{recovery}", headers=other)).status_code == 404
        profile = await client.get("/v1/customers/C-77", headers=mine)
        assert profile.status_code == 200
        assert profile.json()["pii_masked"] is True
        assert profile.json()["phones"][0]["number"] != "+8613800138000"
        assert (await client.get("/v1/customers/C-88", headers=mine)).status_code == 404
        assert len((await client.get(f"/v1/cases/{recovery}/placements", headers=mine)).json()["items"]) == 1

        result = RESULT | {"case_id": recovery}
        logged = await client.post("/v1/customers/C-77/interactions", json=result, headers=mine)
        assert logged.status_code == 201, logged.text
        assert logged.json()["agent_id"] == "agency-a"
        for customer_id, body, headers in (
            ("C-77", RESULT, mine),  # no case named
            ("C-88", RESULT | {"case_id": phone}, mine),  # not placed with it
            ("C-88", result, mine),  # its case, another customer
            ("C-77", result, other),  # placed with another agency
        ):
            denied = await client.post(f"/v1/customers/{customer_id}/interactions", json=body, headers=headers)
            assert denied.status_code == 403, (customer_id, body)
        interactions = (await client.get(f"/v1/cases/{recovery}/interactions", headers=sup)).json()["items"]
        assert [i["agent_id"] for i in interactions] == ["agency-a"]

        placement_id = placed.json()["placement_id"]
        assert (await client.post(f"/v1/placements/{placement_id}/recall", headers=sup)).status_code == 200
        assert (await client.get("/v1/cases", headers=mine)).json()["items"] == []
        after = await client.post("/v1/customers/C-77/interactions", json=result, headers=mine)
        assert after.status_code == 403
