"""Telephony through the API: dial-time contact rules, manual calls, the CTI provider's signed callback (issue 16 item 3)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from crm_testkit import customer, loan, missed

from postloan_crm.api import calls as calls_api
from postloan_crm.domain.telephony import signature

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SECRET = "cti-test-secret"
RESULT = {"connected": True, "duration_s": 95, "outcome": "promise_to_pay", "recording_ref": "rec-1"}


async def setup(crm, client, sup) -> str:
    """A phone case of C-77 assigned to phone-a (phone-b is in the team too); return its id."""
    for agent_id, fields in (("phone-a", {}), ("phone-b", {}), ("sup-1", {"active": False})):
        body = {"name": agent_id, "team": "north", "queues": ["phone"]} | fields
        assert (await client.put(f"/v1/agents/{agent_id}", json=body, headers=sup)).status_code == 200
    await crm.feed(customer(), topic="core-banking.customers")
    await crm.feed(loan("L-1"), missed("L-1", dpd=35, bucket="M2", on=date(2026, 3, 10)))
    (case,) = await crm.rows("SELECT case_id, assignee FROM cases")
    assert case["assignee"] == "phone-a"
    return case["case_id"]


def signed(body: bytes, *, at: datetime = NOW, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(at.timestamp()))
    return {
        "X-Signature": signature(secret, timestamp=ts, body=body),
        "X-Signature-Timestamp": ts,
        "Content-Type": "application/json",
    }


async def test_a_manual_call_and_the_collectors_result(crm, crm_api, token):
    mine, other, sup = token("collector", "phone-a"), token("collector", "phone-b"), token("supervisor", "sup-1")
    async with crm_api(crm.url, now=NOW) as client:
        case_id = await setup(crm, client, sup)
        assert (await client.post("/v1/calls", json={"case_id": case_id, "phone": 0}, headers=other)).status_code == 403
        assert (await client.post("/v1/calls", json={"case_id": "CASE-X", "phone": 0}, headers=mine)).status_code == 404
        assert (await client.post("/v1/calls", json={"case_id": case_id, "phone": 3}, headers=mine)).status_code == 422
        raw = await client.post("/v1/calls", json={"case_id": case_id, "phone": "+8613800138000"}, headers=mine)
        assert raw.status_code == 422  # a number from the client is never dialled
        made = await client.post("/v1/calls", json={"case_id": case_id, "phone": 0}, headers=mine)
        assert made.status_code == 201, made.text
        call = made.json()
        assert (call["mode"], call["status"]) == ("manual", "requested")
        assert call["phone"] != "+8613800138000"  # masked for a collector without pii:read

        path = f"/v1/calls/{call['call_id']}/result"
        assert (await client.post(path, json=RESULT)).status_code == 401
        assert (await client.post(path, json=RESULT, headers=token("analyst", "a-1"))).status_code == 403
        assert (await client.post(path, json=RESULT, headers=other)).status_code == 403
        done = await client.post(path, json=RESULT, headers=mine)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed"
        again = await client.post(path, json=RESULT, headers=mine)
        assert again.json()["interaction_id"] == done.json()["interaction_id"]
        changed = await client.post(path, json=RESULT | {"duration_s": 5}, headers=mine)
        assert changed.status_code == 409
        listed = (await client.get(f"/v1/cases/{case_id}/interactions", headers=mine)).json()["items"]
        assert [(i["outcome"], i["connected"]) for i in listed] == [("promise_to_pay", True)]
        assert "rec-1" in listed[0]["note"]
        actions = [r["action"] for r in await crm.rows("SELECT action FROM audit_log ORDER BY id")]
        assert actions.count("call.start") == 1 and actions.count("call.result") == 1
        assert len(await crm.events("contact-attempted")) == 1


async def test_a_call_that_would_break_a_contact_rule_is_refused_naming_it(crm, crm_api, token):
    late = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    async with crm_api(crm.url, now=late) as client:
        case_id = await setup(crm, client, token("supervisor", "sup-1"))
        refused = await client.post(
            "/v1/calls", json={"case_id": case_id, "phone": 0}, headers=token("collector", "phone-a")
        )
        assert refused.status_code == 409
        assert refused.json()["rule"] == "quiet_hours"
        assert await crm.rows("SELECT call_id FROM calls") == []


class FakeCti:
    def __init__(self) -> None:
        self.dialled: list[tuple[str, str]] = []

    async def dial(self, *, call_id: str, agent_id: str, number: str) -> str | None:
        self.dialled.append((agent_id, number))
        return "prov-77"


async def test_the_cti_provider_dials_and_its_signed_callback_becomes_the_interaction(crm, crm_api, token, monkeypatch):
    cti = FakeCti()
    monkeypatch.setattr(calls_api, "dialler", lambda settings: cti)
    monkeypatch.setenv("CRM_CTI_CALLBACK_SECRET", SECRET)
    mine = token("collector", "phone-a")
    async with crm_api(crm.url, now=NOW) as client:
        case_id = await setup(crm, client, token("supervisor", "sup-1"))
        made = await client.post("/v1/calls", json={"case_id": case_id, "phone": 0}, headers=mine)
        assert made.status_code == 201, made.text
        call = made.json()
        assert (call["mode"], call["status"]) == ("cti", "dialling")
        assert cti.dialled == [("phone-a", "+8613800138000")]

        path = f"/v1/calls/{call['call_id']}/result"
        body = json.dumps(RESULT).encode()
        bad = signed(body) | {"X-Signature": "0" * 64}
        assert (await client.post(path, content=body, headers=bad)).status_code == 401
        old = signed(body, at=NOW - timedelta(minutes=10))
        assert (await client.post(path, content=body, headers=old)).status_code == 401
        wrong_key = signed(body, secret="guess")
        assert (await client.post(path, content=body, headers=wrong_key)).status_code == 401
        assert (await client.post("/v1/calls/CALL-none/result", content=body, headers=signed(body))).status_code == 404
        # The collector cannot post the result of a provider's call.
        assert (await client.post(path, json=RESULT, headers=mine)).status_code == 403

        done = await client.post(path, content=body, headers=signed(body))
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed"
        twice = await client.post(path, content=body, headers=signed(body, at=NOW + timedelta(seconds=5)))
        assert twice.status_code == 200
        assert len(await crm.rows("SELECT interaction_id FROM interactions")) == 1
        (row,) = await crm.rows("SELECT provider_call_id, result FROM calls")
        assert row["provider_call_id"] == "prov-77"
        assert row["result"]["recording_ref"] == "rec-1"
