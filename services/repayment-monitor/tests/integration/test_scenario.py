"""A loan over several months through the REST API: every figure worked out by hand.

Loan L-1001: 3,000.00 at 12%, three installments (1,000 + 30 / 20 / 10 interest) due on the 5th
of Feb, Mar and Apr 2026. Penalty: 12% × 1.5 = 18% a year on overdue principal, i.e.
0.4931507 a day per 1,000.00.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal as D

import pytest
from rm_testkit import LOAN, allocation
from sqlalchemy import text

from postloan_common.contracts import parse_data
from postloan_common.db import engine_scope
from postloan_common.messaging.envelope import Envelope

pytestmark = pytest.mark.integration


async def advance(client, headers, to: str) -> dict:
    response = await client.post("/v1/calendar/advance", json={"to": to}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def pay(client, headers, rid: str, amount: str, value_date: str, expect: int = 201) -> dict:
    response = await client.post(
        "/v1/loans/L-1001/repayments",
        json={"repayment_id": rid, "amount": amount, "value_date": value_date, "channel": "bank-transfer"},
        headers=headers,
    )
    assert response.status_code == expect, response.text
    return response.json()


async def loan(client, headers) -> dict:
    response = await client.get("/v1/loans/L-1001", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def outbox_events(url: str) -> list[Envelope]:
    async with engine_scope(url) as engine, engine.connect() as conn:
        rows = (
            await conn.execute(text("SELECT payload FROM outbox WHERE topic = 'repayment.loans' ORDER BY id"))
        ).all()
    events = [Envelope.from_bytes(bytes(r.payload)) for r in rows]
    for event in events:
        parse_data(event)  # every event matches its contract, SQL-built ones included
    return events


async def test_multi_month_scenario(rm_api, token):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        created = await client.post("/v1/loans", json=LOAN, headers=h)
        assert created.status_code == 201, created.text
        again = await client.post("/v1/loans", json=LOAN, headers=h)
        assert again.status_code == 200 and again.json() == created.json()

        await advance(client, h, "2026-02-05")
        on_time = await pay(client, h, "R1", "1030.00", "2026-02-05")
        assert on_time["allocation"] == allocation(interest="30.00", principal="1000.00")
        assert on_time["dpd_after"] == 0

        await advance(client, h, "2026-03-10")
        state = await loan(client, h)
        assert (state["dpd"], state["bucket"]) == (5, "M1")
        assert D(state["penalty"]) == D("2.47")
        assert D(state["overdue"]["total"]) == D("1022.47")
        assert D(state["outstanding"]["total"]) == D("2032.47")  # 2000 + 30 interest + 2.47

        await advance(client, h, "2026-03-12")
        partial = await pay(client, h, "R2", "500.00", "2026-03-12")
        assert partial["allocation"] == allocation(penalty="3.45", interest="20.00", principal="476.55")
        assert (partial["dpd_after"], partial["bucket_after"]) == (7, "M1")

        await advance(client, h, "2026-03-20")
        state = await loan(client, h)
        assert (state["dpd"], D(state["penalty"])) == (15, D("2.07"))

        back_valued = await pay(client, h, "R3", "530.00", "2026-03-15")
        assert back_valued["allocation"] == allocation(penalty="0.78", interest="5.77", principal="523.45")
        assert (back_valued["dpd_after"], back_valued["bucket_after"]) == (0, "M0")
        # Same body again: same answer, no second effect. Same id, other body: 409.
        assert await pay(client, h, "R3", "530.00", "2026-03-15", expect=200) == back_valued
        await pay(client, h, "R3", "531.00", "2026-03-15", expect=409)

        await advance(client, h, "2026-03-25")
        reversal = await client.post("/v1/repayments/R2/reversal", json={"reason": "bounced"}, headers=h)
        assert reversal.status_code == 200, reversal.text
        assert (reversal.json()["dpd_after"], reversal.json()["bucket_after"]) == (20, "M1")
        repeat = await client.post("/v1/repayments/R2/reversal", json={"reason": "bounced"}, headers=h)
        assert repeat.json() == reversal.json()
        state = await loan(client, h)
        assert (state["dpd"], state["bucket"], D(state["penalty"])) == (20, "M1", D("2.44"))
        # Without R2, R3 no longer reaches #3: 494.93 principal + 2.44 penalty of #2, 1,000 + 10 of #3.
        assert D(state["outstanding"]["total"]) == D("1507.37")

        history = (await client.get("/v1/loans/L-1001/dpd-history", headers=h)).json()["periods"]
        assert [(p["start"], p["bucket"]) for p in history] == [("2026-01-05", "M0"), ("2026-03-06", "M1")]

        schedule = (await client.get("/v1/loans/L-1001/schedule", headers=h)).json()["installments"]
        assert [i["status"] for i in schedule] == ["paid", "overdue", "not_due"]
        assert schedule[1]["open"]["principal"] == "494.93"

        events = await outbox_events(url)
        kinds = Counter(e.type for e in events if e.type != "day-closed")
        assert kinds == {
            "loan-registered": 1,
            "payment-due": 8,  # T−7, T−3, T−1, T0 of installments 1 and 2 (3's T−7 is 03-29)
            "payment-received": 3,
            "payment-missed": 1,  # installment 2, at the close of 2026-03-05
            "delinquency-changed": 3,  # M0→M1 on 03-06, M1→M0 by R3, M0→M1 by the reversal
            "loan-cured": 1,
            "payment-reversed": 1,
        }
        missed = next(e for e in events if e.type == "payment-missed")
        assert missed.data["installment_seq"] == 2 and missed.data["dpd"] == 1
        # Emitted by the close of 03-05; it describes 03-06, the first day past due.
        assert missed.business_date.isoformat() == "2026-03-06"
        moves = [(e.data["from_bucket"], e.data["to_bucket"]) for e in events if e.type == "delinquency-changed"]
        assert moves == [("M0", "M1"), ("M1", "M0"), ("M0", "M1")]
        due_offsets = sorted(
            e.data["days_before_due"] for e in events if e.type == "payment-due" and e.data["installment_seq"] == 2
        )
        assert due_offsets == [0, 1, 3, 7]


async def test_closing_the_same_day_twice_changes_nothing(rm_api, token):
    h = token("system")
    async with rm_api("2026-03-04") as (client, url):
        assert (await client.post("/v1/loans", json=LOAN, headers=h)).status_code == 201
        first = await client.post("/v1/calendar/close-day", json={"business_date": "2026-03-04"}, headers=h)
        assert first.status_code == 200 and first.json()["already_closed"] is False
        before = await outbox_events(url)
        second = await client.post("/v1/calendar/close-day", json={"business_date": "2026-03-04"}, headers=h)
        assert second.status_code == 200 and second.json()["already_closed"] is True
        assert second.json()["stats"] == {k: v for k, v in first.json()["stats"].items() if k != "duration_ms"}
        assert [e.id for e in await outbox_events(url)] == [e.id for e in before]
        calendar = (await client.get("/v1/calendar", headers=h)).json()
        assert calendar["business_date"] == "2026-03-05" and calendar["last_closed"] == "2026-03-04"


async def test_the_same_amount_written_differently_is_the_same_repayment(rm_api, token):
    h = token("system")
    async with rm_api("2026-02-05") as (client, _url):
        assert (await client.post("/v1/loans", json={**LOAN, "principal": "3000"}, headers=h)).status_code == 201
        # "3000" and "3000.00" are one loan; "1030" and "1030.00" one repayment.
        assert (await client.post("/v1/loans", json=LOAN, headers=h)).status_code == 200
        first = await pay(client, h, "R1", "1030", "2026-02-05")
        assert await pay(client, h, "R1", "1030.00", "2026-02-05", expect=200) == first
