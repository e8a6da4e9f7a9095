"""The collector's worklist and a case's interactions through the real consumer and the API (issue 16 item 2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from crm_testkit import customer, loan, missed, score

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


async def add_agents(client, headers, *agents: str) -> None:
    """Phone agents of team north, with sup-1 as the team's (inactive) supervisor."""
    for agent_id, fields in [(a, {"queues": ["phone"]}) for a in agents] + [
        ("sup-1", {"queues": ["phone"], "active": False})
    ]:
        response = await client.put(
            f"/v1/agents/{agent_id}", json={"name": agent_id, "team": "north"} | fields, headers=headers
        )
        assert response.status_code == 200, response.text


async def test_the_worklist_puts_callbacks_due_first_then_expected_recovery(crm, crm_api, token):
    collector = token("collector", "phone-a")
    sup = token("supervisor", "sup-1")
    async with crm_api(crm.url, now=NOW) as client:
        await add_agents(client, sup, "phone-a", "phone-b")
        await crm.feed(customer(), topic="core-banking.customers")
        # Four M2 cases of 1,020.00 each: balanced over phone-a and phone-b, two each.
        for lid in ("L-1", "L-2", "L-3", "L-4"):
            await crm.feed(loan(lid), missed(lid, dpd=35, bucket="M2", on=date(2026, 3, 10)))
        await crm.feed(score("L-1", "C-77", "0.50"), score("L-2", "C-77", "0.50"), topic="risk.scores")
        mine = await client.get("/v1/worklist", headers=collector)
        assert mine.status_code == 200, mine.text
        items = mine.json()["items"]
        assert len(items) == 2
        assert mine.json()["next_cursor"] is None
        first, second = items
        # No score: 1,020.00 × 0.40; PD 0.50: × 0.40 × 0.50.
        assert float(first["priority"]) > float(second["priority"])
        assert {first["priority"], second["priority"]} <= {"408.00", "204.00"}
        assert all("new_case" in i["reasons"] for i in items)
        assert all(i["next_action_at"] is None for i in items)

        # A callback asked for an hour ago puts the lower-priority case first.
        callback = (NOW - timedelta(hours=1)).isoformat()
        logged = await client.post(
            "/v1/customers/C-77/interactions",
            json={
                "connected": True,
                "outcome": "right_party_contact",
                "case_id": second["case_id"],
                "next_action_at": callback,
                "occurred_at": (NOW - timedelta(hours=2)).isoformat(),
            },
            headers=collector,
        )
        assert logged.status_code == 201, logged.text
        again = (await client.get("/v1/worklist", headers=collector)).json()["items"]
        assert [i["case_id"] for i in again] == [second["case_id"], first["case_id"]]
        assert again[0]["reasons"] == ["callback_due"]
        assert datetime.fromisoformat(again[0]["next_action_at"]) == NOW - timedelta(hours=1)

        listed = await client.get(f"/v1/cases/{second['case_id']}/interactions", headers=collector)
        assert listed.status_code == 200, listed.text
        (interaction,) = listed.json()["items"]
        assert interaction["outcome"] == "right_party_contact"
        assert datetime.fromisoformat(interaction["next_action_at"]) == NOW - timedelta(hours=1)

        # Whose list may be read: a supervisor their team's, a collector only their own.
        theirs = await client.get("/v1/worklist", params={"agent": "phone-b"}, headers=sup)
        assert theirs.status_code == 200, theirs.text
        assert len(theirs.json()["items"]) == 2
        assert (await client.get("/v1/worklist", params={"agent": "phone-b"}, headers=collector)).status_code == 403
        other = theirs.json()["items"][0]["case_id"]
        hidden = await client.get(f"/v1/cases/{other}/interactions", headers=collector)
        assert hidden.status_code == 404
        naive = await client.post(
            "/v1/customers/C-77/interactions",
            json={"connected": False, "outcome": "no_answer", "next_action_at": "2026-03-11T10:00:00"},
            headers=collector,
        )
        assert naive.status_code == 422
