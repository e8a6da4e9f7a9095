"""Least privilege on reads: every route names its roles, collectors and supervisors see only their cases."""

from __future__ import annotations

import re

import pytest
from crm_testkit import customer, loan, missed

pytestmark = pytest.mark.integration

PUBLIC = {"/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


async def test_a_token_without_roles_is_refused_on_every_route(crm, crm_api, token):
    roleless = token("no-such-role", "nobody")  # unknown role names are dropped: a token with no roles
    async with crm_api(crm.url) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
        wrong = []
        for path, operations in paths.items():
            if path in PUBLIC:
                continue
            for method in operations:
                response = await client.request(method.upper(), re.sub(r"\{[^}]+\}", "x-1", path), headers=roleless)
                problem = response.headers["content-type"].startswith("application/problem+json")
                if response.status_code != 403 or not problem:
                    wrong.append(f"{method.upper()} {path}: {response.status_code}")
        assert len(paths) > 10
    assert not wrong, wrong


async def _two_teams(client, crm, token) -> dict[str, str]:
    """Agent a-1 (team north) holds C-A's case, b-1 (team south) C-B's; each team has a supervisor."""
    admin = token("admin", "root")
    for agent_id, team, active in (
        ("a-1", "north", True),
        ("b-1", "south", True),
        ("sup-n", "north", False),
        ("sup-s", "south", False),
    ):
        body = {"name": agent_id, "queues": ["phone"], "team": team, "active": active}
        assert (await client.put(f"/v1/agents/{agent_id}", json=body, headers=admin)).status_code == 200
    await crm.feed(customer("C-A"), customer("C-B"), topic="core-banking.customers")
    await crm.feed(loan("L-A", "C-A"), missed("L-A", "C-A", dpd=35, bucket="M2"))
    await crm.feed(loan("L-B", "C-B"), missed("L-B", "C-B", dpd=35, bucket="M2"))
    rows = await crm.rows("SELECT case_id, assignee FROM cases ORDER BY loan_id")
    assert [r["assignee"] for r in rows] == ["a-1", "b-1"]
    return {"A": rows[0]["case_id"], "B": rows[1]["case_id"]}


async def _sees_case_a_only(client, case: dict[str, str], headers: dict[str, str]) -> None:
    listed = await client.get("/v1/cases", headers=headers)
    assert [c["case_id"] for c in listed.json()["items"]] == [case["A"]]
    assert (await client.get(f"/v1/cases/{case['B']}", headers=headers)).status_code == 404


async def test_a_collector_reads_only_their_cases_and_those_customers(crm, crm_api, token):
    collector = token("collector", "a-1")
    async with crm_api(crm.url) as client:
        case = await _two_teams(client, crm, token)
        await _sees_case_a_only(client, case, collector)
        assert (await client.get(f"/v1/cases/{case['A']}", headers=collector)).status_code == 200
        assert (await client.get("/v1/customers/C-A", headers=collector)).status_code == 200
        for path in ("/v1/customers/C-B", "/v1/customers/C-B/overview", "/v1/customers/C-B/communications"):
            response = await client.get(path, headers=collector)
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("application/problem+json")
        promise = {"amount": "10.00", "promised_date": "2030-01-01"}
        other = await client.post(f"/v1/cases/{case['B']}/promises", json=promise, headers=collector)
        assert other.status_code == 404
        customers = await client.get("/v1/customers", headers=collector)
        assert [c["customer_id"] for c in customers.json()["items"]] == ["C-A"]
        everyone = await client.get("/v1/customers", headers=token("compliance", "cmp-1"))
        assert [c["customer_id"] for c in everyone.json()["items"]] == ["C-A", "C-B"]
    audit = await crm.rows("SELECT actor, details FROM audit_log WHERE action = 'customer.list' ORDER BY id")
    assert [(a["actor"], a["details"]["rows"], a["details"]["masked"]) for a in audit] == [
        ("a-1", 1, True),
        ("cmp-1", 2, False),
    ]
    assert audit[0]["details"]["filter"] == {"limit": 50, "cursor": None}


async def test_a_supervisor_reads_their_teams_cases_only(crm, crm_api, token):
    north, south = token("supervisor", "sup-n"), token("supervisor", "sup-s")
    async with crm_api(crm.url) as client:
        case = await _two_teams(client, crm, token)
        await _sees_case_a_only(client, case, north)
        assert (await client.get(f"/v1/cases/{case['B']}", headers=south)).status_code == 200
        assert (await client.get("/v1/customers/C-B", headers=north)).status_code == 404
        assert (await client.get("/v1/customers/C-A", headers=north)).status_code == 200
        moved = await client.post(f"/v1/cases/{case['B']}/assign", json={"agent_id": "a-1"}, headers=north)
        assert moved.status_code == 404
        teamless = token("supervisor", "sup-x")  # no agents row: no team, so only unassigned cases
        assert (await client.get("/v1/cases", headers=teamless)).json()["items"] == []


async def test_only_compliance_or_admin_changes_the_contact_policy(crm, crm_api, token):
    body = {"policies": [{"jurisdiction": "CN", "channel": "sms", "max_per_day": 2}]}
    async with crm_api(crm.url) as client:
        for role in ("collector", "supervisor", "analyst"):
            refused = await client.put("/v1/contact-policy", json=body, headers=token(role))
            assert refused.status_code == 403, role
            assert refused.headers["content-type"].startswith("application/problem+json")
        for role in ("compliance", "admin"):
            assert (await client.put("/v1/contact-policy", json=body, headers=token(role))).status_code == 200
