"""Read models: the overdue work list (filters, order, cursor pagination), event history, schedule, next due."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from rm_testkit import product_rules

pytestmark = pytest.mark.integration

START = date(2025, 6, 1)
TODAY = date(2026, 1, 1)
BRANCHES = ("SH01", "BJ01", "GZ01")


def two_installments(loan_id: str, first_due: date, *, product: str, branch: str) -> dict:
    """1,000.00 in two installments of 500 + 5 interest, 30 days apart."""
    return {
        "loan_id": loan_id,
        "customer_id": f"C-{loan_id}",
        "product": product,
        "branch": branch,
        "currency": "CNY",
        "principal": "1000.00",
        "annual_rate": "0.1200",
        "disbursed_on": START.isoformat(),
        "installments": [
            {"seq": 1, "due_date": first_due.isoformat(), "principal": "500.00", "interest": "5.00"},
            {
                "seq": 2,
                "due_date": (first_due + timedelta(days=30)).isoformat(),
                "principal": "500.00",
                "interest": "5.00",
            },
        ],
    }


def book() -> list[dict]:
    """30 loans due a week apart (L-00 most overdue, L-28/L-29 not yet due) and two ties with L-03."""
    loans = []
    for k in range(30):
        loans.append(
            two_installments(
                f"L-{k:02d}",
                date(2025, 6, 20) + timedelta(days=7 * k),
                product="p-even" if k % 2 == 0 else "p-odd",
                branch=BRANCHES[k % 3],
            )
        )
    tie = date(2025, 6, 20) + timedelta(days=21)
    loans.append(two_installments("A-03", tie, product="p-odd", branch="SH01"))
    loans.append(two_installments("Z-03", tie, product="p-odd", branch="SH01"))
    return loans


async def work_list(client, headers, **params) -> dict:
    response = await client.get("/v1/loans", params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def pay(client, headers, loan_id: str, rid: str, amount: str, value_date: str) -> dict:
    body = {"repayment_id": rid, "amount": amount, "value_date": value_date, "channel": "counter"}
    response = await client.post(f"/v1/loans/{loan_id}/repayments", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_overdue_work_list(rm_api, token):
    h = token("system")
    loans = book()
    async with rm_api(START.isoformat()) as (client, _url):
        for body in loans:
            assert (await client.post("/v1/loans", json=body, headers=h)).status_code == 201
        advanced = await client.post("/v1/calendar/advance", json={"to": "2025-10-01"}, headers=h)
        assert advanced.status_code == 200, advanced.text
        # L-01 pays off (closed), L-05 clears its first installment, L-10 pays part of the overdue amount.
        await pay(client, h, "L-01", "R-01", "1100.00", "2025-10-01")
        await pay(client, h, "L-05", "R-05", "505.00", "2025-07-24")
        await pay(client, h, "L-10", "R-10", "300.00", "2025-09-30")
        advanced = await client.post("/v1/calendar/advance", json={"to": TODAY.isoformat()}, headers=h)
        assert advanced.status_code == 200, advanced.text
        # Back-valued after the close of many days: the stored penalty is rewritten from its value date.
        await pay(client, h, "L-12", "R-12", "200.00", "2025-11-15")

        details = {}
        for body in loans:
            response = await client.get(f"/v1/loans/{body['loan_id']}", headers=h)
            assert response.status_code == 200, response.text
            details[body["loan_id"]] = response.json()
        assert details["L-01"]["status"] == "closed"
        overdue = [d for d in details.values() if d["status"] == "active" and d["dpd"] >= 1]
        expected = [d["loan_id"] for d in sorted(overdue, key=lambda d: (-d["dpd"], d["loan_id"]))]
        assert len(expected) == 29  # 32 loans less L-01 (closed), L-28 and L-29 (not due yet)
        assert expected[:3] == ["L-00", "L-02", "A-03"] and expected[3:5] == ["L-03", "Z-03"]
        assert len({d["bucket"] for d in overdue}) >= 6  # M1 … M6+ are all represented

        full = await work_list(client, h)
        assert full["business_date"] == TODAY.isoformat() and full["next_cursor"] is None
        assert [i["loan_id"] for i in full["items"]] == expected
        for item in full["items"]:
            detail = details[item["loan_id"]]
            assert (item["dpd"], item["bucket"]) == (detail["dpd"], detail["bucket"]), item
            assert D(item["overdue_amount"]) == D(detail["overdue"]["total"]), item
            assert D(item["outstanding_principal"]) == D(detail["outstanding"]["principal"]), item
            assert item["oldest_unpaid_due"] == (TODAY - timedelta(days=detail["dpd"])).isoformat()
        assert D(details["L-10"]["overdue"]["total"]) < D(details["L-08"]["overdue"]["total"])

        # Cursor pagination with limit 7 walks every item exactly once, in order.
        walked, cursor, pages = [], None, 0
        while True:
            page = await work_list(client, h, limit=7, **({"cursor": cursor} if cursor else {}))
            pages += 1
            assert 1 <= len(page["items"]) <= 7
            walked += [i["loan_id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            assert pages < 10
        assert walked == expected and pages == 5  # 29 items: 7 + 7 + 7 + 7 + 1

        async def ids(**params) -> list[str]:
            return [i["loan_id"] for i in (await work_list(client, h, **params))["items"]]

        for bucket in ("M1", "M3", "M6+"):
            subset = [x for x in expected if details[x]["bucket"] == bucket]
            assert subset and await ids(bucket=bucket) == subset, bucket
        assert await ids(min_dpd=90) == [x for x in expected if details[x]["dpd"] >= 90]
        assert await ids(min_dpd=100000) == []
        assert await ids(product="p-even") == [x for x in expected if details[x]["product"] == "p-even"]
        assert await ids(branch="BJ01") == [x for x in expected if details[x]["branch"] == "BJ01"]
        both = [x for x in expected if details[x]["product"] == "p-odd" and details[x]["branch"] == "SH01"]
        assert both and await ids(product="p-odd", branch="SH01") == both
        assert (
            await ids(product="p-odd", branch="SH01", min_dpd=150, limit=2)
            == [x for x in both if details[x]["dpd"] >= 150][:2]
        )
        # min_dpd=0: every active loan with something open, the ones not yet due last.
        assert await ids(min_dpd=0) == [*expected, "L-28", "L-29"]
        assert await ids(status="closed") == []  # a closed loan has nothing overdue


async def test_schedule_events_and_next_due(rm_api, token):
    h = token("system")
    product = product_rules(overpayment="prepay", due_offsets=[3, 0])
    dues = ["2026-01-20", "2026-02-05", "2026-02-20", "2026-03-05", "2026-03-20"]
    body = {
        "loan_id": "S-1",
        "customer_id": "C-S",
        "product": "p-prepay",
        "branch": "SH01",
        "currency": "CNY",
        "principal": "1000.00",
        "annual_rate": "0.1200",
        "disbursed_on": "2026-01-05",
        "installments": [
            {"seq": n, "due_date": d, "principal": "200.00", "interest": "2.00"} for n, d in enumerate(dues, 1)
        ],
    }
    async with rm_api("2026-01-05") as (client, _url):
        assert (await client.put("/v1/products/p-prepay", json=product, headers=token("admin"))).status_code == 201
        assert (await client.post("/v1/loans", json=body, headers=h)).status_code == 201
        fresh = (await client.get("/v1/loans/S-1", headers=h)).json()
        assert fresh["next_due"] == {"seq": 1, "due_date": "2026-01-20", "amount": "202.00"}
        assert [
            i["status"] for i in (await client.get("/v1/loans/S-1/schedule", headers=h)).json()["installments"]
        ] == ["not_due"] * 5

        assert (await client.post("/v1/calendar/advance", json={"to": "2026-01-25"}, headers=h)).status_code == 200
        # On its due date #1 takes 202.00; prepay puts the other 48.00 on the last installment's principal.
        paid = await pay(client, h, "S-1", "R-S", "250.00", "2026-01-20")
        assert [(x["seq"], x["component"], x["amount"]) for x in paid["lines"]] == [
            (1, "interest", "2.00"),
            (1, "principal", "200.00"),
            (5, "principal", "48.00"),
        ]
        assert (await client.post("/v1/calendar/advance", json={"to": "2026-02-20"}, headers=h)).status_code == 200

        schedule = (await client.get("/v1/loans/S-1/schedule", headers=h)).json()
        assert schedule["business_date"] == "2026-02-20"
        rows = schedule["installments"]
        assert [r["status"] for r in rows] == ["paid", "overdue", "due", "not_due", "partially_paid"]
        assert rows[0]["settled_on"] == "2026-01-20" and rows[1]["settled_on"] is None
        assert rows[4]["paid"]["principal"] == "48.00" and rows[4]["open"]["principal"] == "152.00"
        # #2 overdue since 02-06: 15 days on 200.00 at 18%: 1.4794521 → 1.48.
        assert rows[1]["open"]["penalty"] == "1.48" and rows[1]["open"]["total"] == "203.48"

        state = (await client.get("/v1/loans/S-1", headers=h)).json()
        assert state["dpd"] == 15
        # The next due is the first open installment due today or later (#2 is overdue, not next).
        assert state["next_due"] == {"seq": 3, "due_date": "2026-02-20", "amount": "202.00"}

        # Events, oldest first, paginated: the walk with limit 3 gives the full list exactly once.
        full = (await client.get("/v1/loans/S-1/events", params={"limit": 500}, headers=h)).json()
        assert full["next_cursor"] is None
        kinds = [e["type"] for e in full["items"]]
        assert kinds[0] == "loan-registered" and "payment-received" in kinds and "payment-missed" in kinds
        dates = [e["business_date"] for e in full["items"]]
        assert dates == sorted(dates)
        # Reminders at the product's offsets (T−3, T0) for #1, #2 and #3 (#3's T0 comes at the close of 02-19).
        due = [
            (e["data"]["installment_seq"], e["data"]["days_before_due"])
            for e in full["items"]
            if e["type"] == "payment-due"
        ]
        assert due == [(1, 3), (1, 0), (2, 3), (2, 0), (3, 3), (3, 0)]
        walked, cursor = [], None
        for _ in range(20):
            page = (
                await client.get(
                    "/v1/loans/S-1/events", params={"limit": 3, **({"cursor": cursor} if cursor else {})}, headers=h
                )
            ).json()
            assert len(page["items"]) <= 3
            walked += [e["event_id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert walked == [e["event_id"] for e in full["items"]]
        assert len(set(walked)) == len(walked)

        # Bucket history: valued on its due date, #1 was never late (although posted on 01-25), so the
        # loan is M0 until #2 fell due unpaid: M1 from 02-06. A start before disbursement is clamped to it.
        for start in (None, "0001-01-01", "2026-01-05"):
            params = {"start": start} if start else {}
            history = (await client.get("/v1/loans/S-1/dpd-history", params=params, headers=h)).json()["periods"]
            assert [(p["start"], p["bucket"]) for p in history] == [("2026-01-05", "M0"), ("2026-02-06", "M1")]

        # Paid off: no next due.
        await pay(client, h, "S-1", "R-S2", "1000.00", "2026-02-20")
        closed = (await client.get("/v1/loans/S-1", headers=h)).json()
        assert closed["status"] == "closed" and closed["next_due"] is None
