"""Product configuration through the API, and its effect on loans booked on the product.

Product `cf-prepay`: component-first waterfall (interest, fee, penalty, principal), prepay
overpayments, 3 grace days, penalty 12% × 1.5 = 18% a year, reminders at T−5 and T−2.
Loan L-CF: 3,000.00 at 12%, installments 1,000 + 30 / 20 / 10 interest due 02-05, 03-05, 04-05.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from rm_testkit import DEFAULT_RULES, allocation, loan_body, product_rules
from sqlalchemy import text

from postloan_common.db import engine_scope

pytestmark = pytest.mark.integration

PRODUCT = product_rules(
    waterfall="component_first",
    component_order=["interest", "fee", "penalty", "principal"],
    grace_days=3,
    overpayment="prepay",
    due_offsets=[5, 2],
)
DEFAULTS = DEFAULT_RULES


def rules_of(view: dict) -> dict:
    """The configurable part of a product view, decimals normalised."""
    out = {k: view[k] for k in DEFAULTS}
    out["penalty_multiplier"] = str(D(out["penalty_multiplier"]).normalize())
    if out["penalty_annual_rate"] is not None:
        out["penalty_annual_rate"] = str(D(out["penalty_annual_rate"]).normalize())
    return out


async def audit_rows(url: str, action: str) -> list:
    async with engine_scope(url) as engine, engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT actor, subject, details FROM audit_log WHERE action = :a ORDER BY id"), {"a": action}
        )
        return rows.all()


async def due_offsets_of(url: str, loan_id: str, seq: int) -> list[int]:
    async with engine_scope(url) as engine, engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT (data->>'days_before_due')::int FROM loan_events WHERE loan_id = :l "
                "AND event_type = 'payment-due' AND (data->>'installment_seq')::int = :s"
            ),
            {"l": loan_id, "s": seq},
        )
        return sorted(r[0] for r in rows.all())


async def test_get_unknown_product_gives_the_defaults(rm_api, token):
    async with rm_api() as (client, _url):
        response = await client.get("/v1/products/never-set", headers=token("collector"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["code"] == "never-set" and body["configured"] is False
        assert rules_of(body) == DEFAULTS
        listed = await client.get("/v1/products", headers=token("analyst"))
        assert listed.status_code == 200 and listed.json() == {"items": [], "next_cursor": None}


async def test_put_creates_then_updates_with_audit(rm_api, token):
    admin = token("admin", sub="alice")
    async with rm_api() as (client, url):
        created = await client.put("/v1/products/cf-prepay", json=PRODUCT, headers=admin)
        assert created.status_code == 201, created.text
        assert created.json()["configured"] is True and created.json()["updated_by"] == "alice"
        assert rules_of(created.json()) == PRODUCT
        fetched = await client.get("/v1/products/cf-prepay", headers=token("collector"))
        assert fetched.json() == created.json()

        # The same body again changes nothing and writes no second audit row.
        again = await client.put("/v1/products/cf-prepay", json=PRODUCT, headers=admin)
        assert again.status_code == 200 and rules_of(again.json()) == PRODUCT

        changed = {**PRODUCT, "grace_days": 10, "penalty_annual_rate": "0.5"}
        updated = await client.put("/v1/products/cf-prepay", json=changed, headers=token("admin", sub="bob"))
        assert updated.status_code == 200, updated.text
        assert rules_of(updated.json()) == changed and updated.json()["updated_by"] == "bob"

        rows = await audit_rows(url, "product.put")
        assert [(r.actor, r.subject) for r in rows] == [("alice", "cf-prepay"), ("bob", "cf-prepay")]
        assert rows[0].details["old"] is None and rows[0].details["new"]["grace_days"] == 3
        assert rows[1].details["old"]["grace_days"] == 3 and rows[1].details["old"]["penalty_annual_rate"] is None
        assert rows[1].details["new"]["grace_days"] == 10
        assert rows[1].details["changes"]["grace_days"] == {"old": 3, "new": 10}
        assert set(rows[1].details["changes"]) == {"grace_days", "penalty_annual_rate", "penalty_multiplier"}, rows[
            1
        ].details["changes"]
        assert D(rows[1].details["new"]["penalty_annual_rate"]) == D("0.5")


async def test_list_products_is_paginated_by_code(rm_api, token):
    admin = token("admin")
    codes = [f"p-{i:02d}" for i in range(7)]
    async with rm_api() as (client, _url):
        for code in reversed(codes):
            assert (await client.put(f"/v1/products/{code}", json=DEFAULTS, headers=admin)).status_code == 201
        seen, cursor = [], None
        for _ in range(10):
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/products", params=params, headers=admin)).json()
            seen += [item["code"] for item in page["items"]]
            assert all(item["configured"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == codes
        bad = await client.get("/v1/products", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=admin)
        assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"waterfall": "newest_first"}, "waterfall"),
        ({"component_order": ["penalty", "penalty", "interest", "principal"]}, "component_order"),
        ({"component_order": ["penalty", "fee", "interest"]}, "component_order"),
        ({"component_order": ["penalty", "fee", "interest", "capital"]}, "component_order"),
        ({"penalty_annual_rate": "-0.1"}, "penalty_annual_rate"),
        ({"penalty_annual_rate": 0.18}, "penalty_annual_rate"),
        ({"penalty_annual_rate": "99999"}, "penalty_annual_rate"),
        ({"penalty_multiplier": "1.23456"}, "penalty_multiplier"),
        ({"penalty_multiplier": None}, "penalty_multiplier"),
        ({"grace_days": -1}, "grace_days"),
        ({"grace_days": 91}, "grace_days"),
        ({"grace_days": "3"}, "grace_days"),
        ({"overpayment": "refund"}, "overpayment"),
        ({"due_offsets": [7, 7, 1]}, "due_offsets"),
        ({"due_offsets": [61]}, "due_offsets"),
        ({"due_offsets": [-1]}, "due_offsets"),
        ({"shift_due_dates": "maybe"}, "shift_due_dates"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_bad_product_is_refused_naming_the_field(rm_api, token, change, field):
    async with rm_api() as (client, url):
        response = await client.put("/v1/products/p1", json={**PRODUCT, **change}, headers=token("admin"))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert any(e["field"].startswith(f"body.{field}") for e in problem["errors"]), problem
        assert field in problem["detail"]
        assert (await client.get("/v1/products/p1", headers=token("admin"))).json()["configured"] is False
        assert await audit_rows(url, "product.put") == []


async def test_missing_field_and_bad_code_are_refused(rm_api, token):
    async with rm_api() as (client, _url):
        body = {k: v for k, v in PRODUCT.items() if k != "overpayment"}
        missing = await client.put("/v1/products/p1", json=body, headers=token("admin"))
        assert missing.status_code == 422 and "body.overpayment" in missing.json()["detail"]
        bad_code = await client.put("/v1/products/bad%20code", json=PRODUCT, headers=token("admin"))
        assert bad_code.status_code == 422, bad_code.text


@pytest.mark.parametrize("role", ["system", "collector", "supervisor", "risk_officer", "analyst"])
async def test_only_admin_may_change_a_product(rm_api, token, role):
    async with rm_api() as (client, _url):
        response = await client.put("/v1/products/p1", json=PRODUCT, headers=token(role))
        assert response.status_code == 403, response.text
        assert (await client.get("/v1/products/p1", headers=token(role))).json()["configured"] is False


async def test_loans_follow_their_product(rm_api, token):
    system = token("system")
    async with rm_api("2026-01-05") as (client, url):
        put = await client.put("/v1/products/cf-prepay", json=PRODUCT, headers=token("admin"))
        assert put.status_code == 201, put.text
        for loan_id, product in (("L-CF", "cf-prepay"), ("L-STD", "standard")):
            booked = await client.post("/v1/loans", json=loan_body(loan_id, product, customer_id="C-1"), headers=system)
            assert booked.status_code == 201, booked.text

        # Penalty rate and grace days are the loan's from booking: this later change must not reach L-CF.
        later = {**PRODUCT, "grace_days": 10, "penalty_annual_rate": "0.5"}
        assert (await client.put("/v1/products/cf-prepay", json=later, headers=token("admin"))).status_code == 200

        advanced = await client.post("/v1/calendar/advance", json={"to": "2026-03-10"}, headers=system)
        assert advanced.status_code == 200, advanced.text

        # Close of day sent reminders at the product's offsets (T−5, T−2), the default product at T−7/3/1/0.
        assert await due_offsets_of(url, "L-CF", 1) == [2, 5]
        assert await due_offsets_of(url, "L-CF", 2) == [2, 5]
        assert await due_offsets_of(url, "L-STD", 1) == [0, 1, 3, 7]

        # Grace 3: #1 accrues from 02-09, 30 days to 03-10 on 1,000 at 18%: 14.7945205 → 14.79;
        # #2 from 03-09, 2 days: 0.9863014 → 0.99. (Without grace it would be 16.27 and 2.47.)
        state = (await client.get("/v1/loans/L-CF", headers=system)).json()
        assert (state["dpd"], D(state["penalty"])) == (33, D("15.78"))

        # Component first: the interest of both due installments, then penalty, before any principal.
        small = await client.post(
            "/v1/loans/L-CF/repayments",
            json={"repayment_id": "R-CF-1", "amount": "60.00", "value_date": "2026-03-10", "channel": "counter"},
            headers=system,
        )
        assert small.status_code == 201, small.text
        assert [(line["seq"], line["component"], line["amount"]) for line in small.json()["lines"]] == [
            (1, "interest", "30.00"),
            (2, "interest", "20.00"),
            (1, "penalty", "10.00"),
        ]
        # The rest of the penalty (4.79 + 0.99), both principals, and 2,140 − 2,005.78 = 134.22 prepays
        # the principal of the last installment instead of paying #3's interest first (credit policy).
        big = await client.post(
            "/v1/loans/L-CF/repayments",
            json={"repayment_id": "R-CF-2", "amount": "2140.00", "value_date": "2026-03-10", "channel": "counter"},
            headers=system,
        )
        assert big.status_code == 201, big.text
        assert big.json()["allocation"] == allocation(penalty="5.78", principal="2134.22")
        assert (3, "principal", "134.22") in [(x["seq"], x["component"], x["amount"]) for x in big.json()["lines"]]
        state = (await client.get("/v1/loans/L-CF", headers=system)).json()
        assert state["dpd"] == 0
        assert D(state["outstanding"]["principal"]) == D("865.78")
        assert D(state["outstanding"]["interest"]) == D("10.00")
        assert state["next_due"] == {"seq": 3, "due_date": "2026-04-05", "amount": "875.78"}

        # The same payment on the default product: penalty, interest then principal per installment,
        # and the rest pays #3's interest before its principal. #1: 33 days → 16.27; #2: 5 days → 2.47.
        std = await client.post(
            "/v1/loans/L-STD/repayments",
            json={"repayment_id": "R-STD", "amount": "2200.00", "value_date": "2026-03-10", "channel": "counter"},
            headers=system,
        )
        assert std.status_code == 201, std.text
        assert std.json()["allocation"] == allocation(penalty="18.74", interest="60.00", principal="2121.26")
