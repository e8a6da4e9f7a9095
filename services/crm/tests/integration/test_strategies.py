"""Strategies as experiments through the API and the consumer: versions, arms on cases and events, the hold-out."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from crm_testkit import cured, customer, day_closed, loan, missed

from postloan_crm.domain.experiments import Arm, ArmRole, assign_arm

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SPLIT = {
    "salt": "q1",
    "queues": ["automated"],
    "arms": [
        {"name": "champ", "role": "champion", "share": "0.5"},
        {"name": "hold", "role": "control", "share": "0.5"},
    ],
}
ARMS = (Arm("champ", ArmRole.CHAMPION, Decimal("0.5")), Arm("hold", ArmRole.CONTROL, Decimal("0.5")))


async def test_each_put_makes_a_version_the_same_body_none_and_bad_shares_are_422(crm, crm_api, token):
    sup, admin = token("supervisor", "sup-1"), token("admin", "root")
    async with crm_api(crm.url, now=NOW) as client:
        first = await client.put("/v1/strategies/m1", json=SPLIT, headers=sup)
        assert first.status_code == 201, first.text
        assert (first.json()["version"], first.json()["created_by"]) == (1, "sup-1")
        same = await client.put("/v1/strategies/m1", json=SPLIT | {"queues": ["automated", "automated"]}, headers=sup)
        assert (same.status_code, same.json()["version"]) == (200, 1)
        changed = await client.put("/v1/strategies/m1", json=SPLIT | {"salt": "q2"}, headers=admin)
        assert (changed.status_code, changed.json()["version"], changed.json()["salt"]) == (201, 2, "q2")
        bad_arms = [
            {"name": "champ", "role": "champion", "share": "0.5"},
            {"name": "b", "role": "challenger", "share": "0.4"},
        ]
        for arms in (bad_arms, [{"name": "x", "role": "challenger", "share": "1"}]):
            bad = await client.put("/v1/strategies/m1", json=SPLIT | {"arms": arms}, headers=sup)
            assert bad.status_code == 422, bad.text
            assert bad.headers["content-type"].startswith("application/problem+json")
        denied = await client.put("/v1/strategies/m1", json=SPLIT, headers=token("collector", "a-1"))
        assert denied.status_code == 403
        current = (await client.get("/v1/strategies/m1", headers=sup)).json()
        assert (current["version"], current["salt"], current["arms"][0]["share"]) == (2, "q2", "0.5")
        versions = (await client.get("/v1/strategies/m1/versions", headers=sup)).json()["items"]
        assert [v["version"] for v in versions] == [2, 1]
        assert (await client.get("/v1/strategies/nope", headers=sup)).status_code == 404
        assert (await client.get("/v1/strategies/nope/versions", headers=sup)).status_code == 404
    audits = await crm.rows("SELECT details FROM audit_log WHERE action = 'strategy.put' ORDER BY id")
    assert [a["details"]["version"] for a in audits] == [1, 2]
    assert audits[1]["details"]["changes"] == {"salt": {"old": "q1", "new": "q2"}}


async def test_new_cases_get_their_arm_for_life_and_the_hold_out_gets_no_dunning(crm, crm_api, token):
    crm.clock.now = NOW
    loans = [f"L-{i}" for i in range(1, 9)]
    expected = {lid: assign_arm(lid, salt="q1", arms=ARMS).name for lid in loans}
    assert set(expected.values()) == {"champ", "hold"}  # the eight loans fall in both arms
    async with crm_api(crm.url, now=NOW) as client:
        assert (await client.put("/v1/strategies/m1", json=SPLIT, headers=token("supervisor", "s"))).status_code == 201
        await crm.feed(customer("C-77"), topic="core-banking.customers")
        for lid in loans:
            await crm.feed(loan(lid, "C-77"), missed(lid, "C-77", dpd=1, bucket="M1", on=date(2026, 3, 6)))
        # A new version after the cases opened changes nobody's arm.
        flipped = SPLIT | {"salt": "other"}
        assert (await client.put("/v1/strategies/m1", json=flipped, headers=token("admin", "r"))).status_code == 201
    cases = await crm.rows("SELECT loan_id, case_id, experiment, experiment_version, arm, arm_role FROM cases")
    assert {c["loan_id"]: c["arm"] for c in cases} == expected
    assert {(c["experiment"], c["experiment_version"]) for c in cases} == {("m1", 1)}
    opened = await crm.events("case-opened")
    assert {e.data["loan_id"]: e.data["arm"] for e in opened} == expected
    assert {e.data["experiment"] for e in opened} == {"m1"}

    await crm.feed(day_closed(date(2026, 3, 6)))
    dunned = {r["loan_id"] for r in await crm.rows("SELECT loan_id FROM communications WHERE kind = 'dunning'")}
    assert dunned == {lid for lid, arm in expected.items() if arm == "champ"}

    held = next(lid for lid, arm in expected.items() if arm == "hold")
    held_case = next(c["case_id"] for c in cases if c["loan_id"] == held)
    async with crm_api(crm.url, now=NOW) as client:
        shown = (await client.get(f"/v1/cases/{held_case}", headers=token("supervisor", "s"))).json()
    assert (shown["experiment"], shown["arm"], shown["arm_role"]) == ("m1", "hold", "control")

    await crm.feed(cured(held, "C-77", date(2026, 3, 7)))
    (closed,) = await crm.events("case-closed")
    assert (closed.data["arm"], closed.data["experiment"]) == ("hold", "m1")


async def test_cases_outside_an_experiments_queues_get_no_arm(crm, crm_api, token):
    crm.clock.now = NOW
    async with crm_api(crm.url, now=NOW) as client:
        await client.put("/v1/strategies/m1", json=SPLIT | {"queues": ["phone"]}, headers=token("supervisor", "s"))
        await crm.feed(customer("C-77"), topic="core-banking.customers")
        await crm.feed(loan("L-1", "C-77"), missed("L-1", "C-77", dpd=1, bucket="M1", on=date(2026, 3, 6)))
    (case,) = await crm.rows("SELECT queue, experiment, arm FROM cases")
    assert (case["queue"], case["experiment"], case["arm"]) == ("automated", None, None)
    (opened,) = await crm.events("case-opened")
    assert opened.data.get("arm") is None


LADDERED = {
    "salt": "q1",
    "queues": ["automated"],
    "arms": [
        {"name": "champ", "role": "champion", "share": "0.5"},
        {"name": "mail", "role": "challenger", "share": "0.5", "ladder": "email-first"},
    ],
    "ladders": [{"name": "email-first", "steps": [{"dpd": 1, "channel": "email", "template": "dunning-reminder"}]}],
}


async def test_an_arm_may_climb_its_own_ladder_instead_of_the_queues(crm, crm_api, token):
    crm.clock.now = NOW
    loans = [f"L-{i}" for i in range(1, 9)]
    arms = (Arm("champ", ArmRole.CHAMPION, Decimal("0.5")), Arm("mail", ArmRole.CHALLENGER, Decimal("0.5")))
    expected = {lid: assign_arm(lid, salt="q1", arms=arms).name for lid in loans}
    assert set(expected.values()) == {"champ", "mail"}
    sup = token("supervisor", "s")
    async with crm_api(crm.url, now=NOW) as client:
        for bad in (
            LADDERED | {"ladders": []},  # the arm names a ladder the strategy lacks
            LADDERED | {"arms": [LADDERED["arms"][0], LADDERED["arms"][1] | {"role": "control"}]},
            LADDERED | {"ladders": LADDERED["ladders"] * 2},
        ):
            assert (await client.put("/v1/strategies/m1", json=bad, headers=sup)).status_code == 422
        put = await client.put("/v1/strategies/m1", json=LADDERED, headers=sup)
        assert put.status_code == 201, put.text
        assert put.json()["ladders"][0]["steps"] == [{"dpd": 1, "channel": "email", "template": "dunning-reminder"}]
        await crm.feed(customer("C-77"), topic="core-banking.customers")
        for lid in loans:
            await crm.feed(loan(lid, "C-77"), missed(lid, "C-77", dpd=1, bucket="M1", on=date(2026, 3, 6)))
    await crm.feed(day_closed(date(2026, 3, 6)))
    sent = await crm.rows("SELECT loan_id, channel, template FROM communications WHERE kind = 'dunning'")
    by_loan = {r["loan_id"]: (r["channel"], r["template"]) for r in sent}
    assert by_loan == {
        lid: ("email", "dunning-reminder") if arm == "mail" else ("sms", "dunning-overdue")
        for lid, arm in expected.items()
    }
