"""The crm REST API: customers and PII masking with audit, the call-cap refusal, policy, tickets, 360."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from crm_testkit import ADDRESS, customer_body, due, loan, missed, score

pytestmark = pytest.mark.integration

CUSTOMER = customer_body(
    "C-77",
    related_parties=[{"name": "李四", "relation": "emergency_contact", "phones": [{"number": "+8613900139000"}]}],
    birth_date="1990-03-07",
    address=ADDRESS,
)
NOON_SHANGHAI = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


async def audit_rows(crm, action: str | None = None) -> list[dict]:
    rows = await crm.rows("SELECT actor, action, subject, details FROM audit_log ORDER BY id")
    return [r for r in rows if action is None or r["action"] == action]


async def test_customer_pii_is_masked_by_role_and_clear_reads_are_audited(crm, crm_api, token):
    async with crm_api(crm.url) as client:
        created = await client.post("/v1/customers", json=CUSTOMER, headers=token("system", "core"))
        assert created.status_code == 201, created.text
        again = await client.post("/v1/customers", json=CUSTOMER, headers=token("system", "core"))
        assert again.status_code == 200
        assert (await client.post("/v1/customers", json=CUSTOMER, headers=token("collector"))).status_code == 403
        assert (await client.get("/v1/customers/C-77")).status_code == 401

        before = len(await audit_rows(crm, "pii.read"))
        masked = await client.get("/v1/customers/C-77", headers=token("analyst", "agent-1"))
        assert masked.status_code == 200
        body = masked.json()
        assert body["national_id"] == "110101********1234"
        assert body["phones"] == [{"number": "+86138****8000", "kind": "mobile"}]
        assert body["emails"] == ["z***@example.com"]
        assert body["related_parties"][0]["phones"][0]["number"] == "+86139****9000"
        assert body["pii_masked"] is True
        assert body["birth_date"] == "1990-**-**"
        assert body["address"] == {
            "line1": "***",
            "line2": None,
            "city": "Beijing",
            "province": None,
            "postal_code": "***",
            "country": "CN",
        }
        assert "Chaoyang" not in masked.text
        assert "110101199003071234" not in masked.text
        assert "13800138000" not in masked.text
        for path in ("/v1/customers/C-77/overview", "/v1/customers", "/v1/customers/C-77/communications"):
            response = await client.get(path, headers=token("analyst"))
            assert response.status_code == 200, response.text
            assert "110101199003071234" not in response.text
            assert "13800138000" not in response.text
        assert len(await audit_rows(crm, "pii.read")) == before  # nothing read in clear

        clear = await client.get("/v1/customers/C-77", headers=token("compliance", "sup-9"))
        assert clear.json()["national_id"] == "110101199003071234"
        assert clear.json()["phones"][0]["number"] == "+8613800138000"
        reads = await audit_rows(crm, "pii.read")
        assert reads[-1] == {"actor": "sup-9", "action": "pii.read", "subject": "C-77", "details": {"what": "profile"}}
        assert {r["action"] for r in await audit_rows(crm)} >= {"customer.create", "customer.replace", "pii.read"}


async def test_patch_opt_out_and_preferences(crm, crm_api, token):
    async with crm_api(crm.url) as client:
        await client.post("/v1/customers", json=CUSTOMER, headers=token("system"))
        patched = await client.patch(
            "/v1/customers/C-77",
            json={"preferred_channel": "email", "consents": [{"channel": "sms", "granted": False}], "language": "en"},
            headers=token("system"),
        )
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert (body["preferred_channel"], body["language"]) == ("email", "en")
        assert body["consents"] == [{"channel": "sms", "granted": False, "purpose": "collection", "recorded_on": None}]
        assert body["phones"][0]["number"] == "+8613800138000"  # untouched
        assert body["related_parties"][0]["name"] == "李四"
        bad = await client.patch("/v1/customers/C-77", json={"timezone": "Mars/Olympus"}, headers=token("system"))
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        missing = await client.patch("/v1/customers/C-404", json={"language": "en"}, headers=token("system"))
        assert missing.status_code == 404


async def call(client, headers, at: datetime, connected: bool = True, outcome: str = "right_party_contact", **extra):
    return await client.post(
        "/v1/customers/C-77/interactions",
        json={"channel": "phone", "connected": connected, "outcome": outcome, "occurred_at": at.isoformat()} | extra,
        headers=headers,
    )


async def test_call_that_would_break_a_cap_is_refused_with_409_naming_the_rule(crm, crm_api, token):
    agent = token("admin", "agent-1")  # the contact rules, not the case scope, are under test here
    async with crm_api(crm.url, now=NOON_SHANGHAI) as client:
        await client.post("/v1/customers", json=CUSTOMER, headers=token("system"))
        for minute in (0, 10, 20):
            ok = await call(client, agent, datetime(2026, 3, 2, 1, minute, tzinfo=UTC))
            assert ok.status_code == 201, ok.text
        # An unanswered attempt does not count towards the 3 connected calls…
        assert (
            await call(client, agent, datetime(2026, 3, 2, 2, 0, tzinfo=UTC), connected=False, outcome="no_answer")
        ).status_code == 201
        # …but a fourth connected call the same local day does.
        refused = await call(client, agent, datetime(2026, 3, 2, 3, 0, tzinfo=UTC))
        assert refused.status_code == 409
        problem = refused.json()
        assert problem["rule"] == "daily_cap"
        assert "daily_cap" in problem["detail"]
        assert refused.headers["content-type"].startswith("application/problem+json")
        # Quiet hours: 23:00 in Shanghai.
        late = await call(client, agent, datetime(2026, 3, 1, 15, 0, tzinfo=UTC))
        assert late.status_code == 409
        assert late.json()["rule"] == "quiet_hours"
        # Third parties only while the debtor is unreachable: the debtor was reached today.
        third = await call(client, agent, datetime(2026, 3, 2, 3, 30, tzinfo=UTC), party="third_party")
        assert third.status_code == 409
        assert third.json()["rule"] == "third_party_debtor_reachable"
        future = await call(client, agent, datetime(2026, 3, 3, 3, 0, tzinfo=UTC))
        assert future.status_code == 422

        # Switched to counting attempts over 7 days (as the US profile does): 4 logged reach a cap of 4.
        policy = await client.put(
            "/v1/contact-policy",
            json={
                "policies": [
                    {
                        "jurisdiction": "CN",
                        "channel": "phone",
                        "quiet_start": "22:00",
                        "quiet_end": "08:00",
                        "max_per_window": 4,
                        "window_days": 7,
                        "counting": "attempts",
                    }
                ]
            },
            headers=token("compliance"),
        )
        assert policy.status_code == 200, policy.text
        refused = await call(
            client, agent, datetime(2026, 3, 2, 3, 50, tzinfo=UTC), connected=False, outcome="no_answer"
        )
        assert refused.status_code == 409
        assert refused.json()["rule"] == "window_cap"

    attempts = await crm.events("contact-attempted")
    assert len(attempts) == 4
    assert attempts[0].data["agent_id"] == "agent-1"
    assert len(await crm.rows("SELECT * FROM interactions")) == 4


async def test_contact_policy_defaults_and_roles(crm, crm_api, token):
    async with crm_api(crm.url) as client:
        current = await client.get("/v1/contact-policy", headers=token("analyst"))
        assert current.status_code == 200
        policies = {(p["jurisdiction"], p["channel"]): p for p in current.json()["policies"]}
        assert policies[("CN", "phone")] | {} == {
            "jurisdiction": "CN",
            "channel": "phone",
            "quiet_start": "22:00:00",
            "quiet_end": "08:00:00",
            "max_per_day": 3,
            "max_per_window": None,
            "window_days": 7,
            "counting": "connected",
        }
        assert policies[("US", "phone")]["max_per_window"] == 7
        assert policies[("US", "phone")]["quiet_start"] == "21:00:00"
        body = {"policies": [{"jurisdiction": "CN", "channel": "sms", "quiet_start": "21:00"}]}
        assert (await client.put("/v1/contact-policy", json=body, headers=token("compliance"))).status_code == 422
        assert (await client.put("/v1/contact-policy", json=body, headers=token("supervisor"))).status_code == 403
        assert (await client.put("/v1/contact-policy", json=body, headers=token("collector"))).status_code == 403


async def test_tickets_with_sla_status_and_owner(crm, crm_api, token):
    now = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    async with crm_api(crm.url, now=now) as client:
        await client.post("/v1/customers", json=CUSTOMER, headers=token("system"))
        created = await client.post(
            "/v1/tickets",
            json={"customer_id": "C-77", "kind": "hardship_request", "subject": "Lost job", "loan_id": "L-1"},
            headers=token("system", "agent-1"),
        )
        assert created.status_code == 201, created.text
        ticket = created.json()
        assert ticket["status"] == "open"
        assert ticket["sla_due_at"] == "2026-03-05T04:00:00+00:00"  # 72 h
        assert ticket["sla_breached"] is False
        unknown = await client.post(
            "/v1/tickets",
            json={"customer_id": "nobody", "kind": "complaint", "subject": "x"},
            headers=token("collector"),
        )
        assert unknown.status_code == 404
        assert (
            await client.post(
                "/v1/tickets",
                json={"customer_id": "C-77", "kind": "gossip", "subject": "x"},
                headers=token("collector"),
            )
        ).status_code == 422

        tid = ticket["ticket_id"]
        owned = await client.patch(
            f"/v1/tickets/{tid}", json={"owner": "care-2", "status": "in_progress"}, headers=token("system")
        )
        assert owned.status_code == 200, owned.text
        assert (owned.json()["owner"], owned.json()["status"]) == ("care-2", "in_progress")
        done = await client.patch(f"/v1/tickets/{tid}", json={"status": "closed"}, headers=token("system"))
        assert done.json()["resolved_at"] is not None
        reopen = await client.patch(f"/v1/tickets/{tid}", json={"status": "open"}, headers=token("system"))
        assert reopen.status_code == 409
        listed = await client.get("/v1/tickets", params={"owner": "care-2"}, headers=token("analyst"))
        assert [t["ticket_id"] for t in listed.json()["items"]] == [tid]
        planned = await client.get(
            "/v1/care-touchpoints", params={"due_before": "2026-03-31"}, headers=token("analyst")
        )
        (touch,) = planned.json()["items"]
        assert (touch["kind"], touch["due_on"], touch["customer_id"]) == ("hardship_follow_up", "2026-03-16", "C-77")
        done = await client.patch(
            f"/v1/care-touchpoints/{touch['id']}", json={"status": "done", "note": "called"}, headers=token("system")
        )
        assert done.status_code == 200, done.text
        assert (await client.get("/v1/care-touchpoints", headers=token("analyst"))).json()["items"] == []
        missing = await client.patch("/v1/care-touchpoints/999", json={"status": "done"}, headers=token("collector"))
        assert missing.status_code == 404


async def test_customer_360(crm, crm_api, token):
    async with crm_api(crm.url, now=NOON_SHANGHAI) as client:
        await client.post("/v1/customers", json=CUSTOMER, headers=token("system"))
        # The collector works the phone queue, so the case (and its customer) is theirs to read.
        agent = {"name": "tester", "queues": ["phone"], "team": "north"}
        assert (await client.put("/v1/agents/tester", json=agent, headers=token("admin"))).status_code == 200
        boss = {"name": "sup-1", "queues": ["phone"], "team": "north", "active": False}
        assert (await client.put("/v1/agents/sup-1", json=boss, headers=token("admin"))).status_code == 200
        await crm.feed(loan(), due(), score("L-1", "C-77", "0.30"), missed(dpd=3, bucket="M1"))
        await call(client, token("collector"), datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
        view = await client.get("/v1/customers/C-77/overview", headers=token("collector"))
        assert view.status_code == 200, view.text
        body = view.json()
        assert body["profile"]["national_id"] == "110101********1234"
        (the_loan,) = body["loans"]
        assert (the_loan["loan_id"], the_loan["bucket"], the_loan["dpd"]) == ("L-1", "M1", 3)
        assert the_loan["risk"]["pd"] == "0.30000000"
        assert body["latest_risk"]["grade"] == "E"
        assert body["open_case"]["queue"] == "phone"  # M1 and high risk
        assert len(body["recent_interactions"]) == 1
        (comm,) = body["recent_communications"]
        assert comm["recipient"] == "+86138****8000"
        assert comm["amount_due"] == "1020.00"
        comms = await client.get("/v1/customers/C-77/communications", headers=token("supervisor", "sup-1"))
        assert comms.json()["items"][0]["recipient"] == "+8613800138000"
        reads = await audit_rows(crm, "pii.read")
        assert reads[-1]["details"] == {"what": "communications"}
        assert (await client.get("/v1/customers/C-404/overview", headers=token("collector"))).status_code == 404
