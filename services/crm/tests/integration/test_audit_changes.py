"""Audited crm updates record each changed field's old and new value, personal data masked."""

from __future__ import annotations

import pytest
from crm_testkit import ADDRESS, customer_body

pytestmark = pytest.mark.integration

CUSTOMER = customer_body("C-88", birth_date="1990-03-07", address=ADDRESS)
CLEAR = ("张三", "王五", "110101199003071234", "110101198801019876", "13800138000", "13700137000", "zhang@", "Chaoyang")


async def audit_details(crm, action: str) -> list[dict]:
    rows = await crm.rows("SELECT action, details FROM audit_log ORDER BY id")
    return [r["details"] for r in rows if r["action"] == action]


async def test_customer_patch_records_old_and_new_values_masked(crm, crm_api, token):
    async with crm_api(crm.url) as client:
        assert (await client.post("/v1/customers", json=CUSTOMER, headers=token("system"))).status_code == 201
        patched = await client.patch(
            "/v1/customers/C-88",
            json={
                "name": "王五",
                "national_id": "110101198801019876",
                "phones": [{"number": "+8613700137000", "kind": "mobile"}],
                "language": "en",
                "birth_date": "1988-01-01",
            },
            headers=token("system"),
        )
        assert patched.status_code == 200, patched.text
    (details,) = await audit_details(crm, "customer.update")
    changes = details["changes"]
    assert changes["language"] == {"old": "zh-CN", "new": "en"}
    assert changes["national_id"] == {"old": "110101********1234", "new": "110101********9876"}
    assert changes["phones"] == {
        "old": [{"number": "+86138****8000", "kind": "mobile"}],
        "new": [{"number": "+86137****7000", "kind": "mobile"}],
    }
    assert changes["name"] == {"old": "张**", "new": "王**"}
    assert changes["birth_date"] == {"old": "1990-**-**", "new": "1988-**-**"}
    assert "timezone" not in changes and "emails" not in changes  # unchanged fields are not recorded
    assert not any(value in str(details) for value in CLEAR)


async def test_customer_replace_records_the_changed_fields_masked(crm, crm_api, token):
    async with crm_api(crm.url) as client:
        await client.post("/v1/customers", json=CUSTOMER, headers=token("system"))
        moved = CUSTOMER | {"emails": ["wang@example.org"], "address": CUSTOMER["address"] | {"line1": "9 Xidan St"}}
        assert (await client.post("/v1/customers", json=moved, headers=token("system"))).status_code == 200
    (details,) = await audit_details(crm, "customer.replace")
    assert details["changes"]["emails"] == {"old": ["z***@example.com"], "new": ["w***@example.org"]}
    assert details["changes"]["address"]["old"]["line1"] == "***"
    assert details["changes"]["address"]["new"]["city"] == "Beijing"
    assert set(details["changes"]) == {"emails", "address"}
    assert "Xidan" not in str(details) and not any(value in str(details) for value in CLEAR)


async def test_contact_policy_put_records_the_old_and_new_rule_of_the_pair_changed(crm, crm_api, token):
    rule = {"jurisdiction": "CN", "channel": "phone", "quiet_start": "22:00", "quiet_end": "08:00", "max_per_day": 2}
    async with crm_api(crm.url) as client:
        put = await client.put("/v1/contact-policy", json={"policies": [rule]}, headers=token("compliance"))
        assert put.status_code == 200, put.text
    (details,) = await audit_details(crm, "contact-policy.put")
    assert set(details["changes"]) == {"policy:CN/phone"}  # the other pairs stayed
    change = details["changes"]["policy:CN/phone"]
    assert change["new"]["max_per_day"] == 2
    assert change["old"] != change["new"] and change["old"]["channel"] == "phone"


async def test_agent_put_records_old_and_new_values(crm, crm_api, token):
    agent = {"name": "tester", "queues": ["phone"], "team": "north", "capacity": 50}
    async with crm_api(crm.url) as client:
        assert (await client.put("/v1/agents/a-1", json=agent, headers=token("admin"))).status_code == 200
        moved = agent | {"team": "south", "capacity": 80}
        assert (await client.put("/v1/agents/a-1", json=moved, headers=token("admin"))).status_code == 200
    first, second = await audit_details(crm, "agent.put")
    assert first["changes"]["team"] == {"old": None, "new": "north"}
    assert second["changes"] == {"team": {"old": "north", "new": "south"}, "capacity": {"old": 50, "new": 80}}
