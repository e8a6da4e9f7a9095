"""Restructuring through the REST API, with close of day over the restructured loan.

Loan L-1001 of test_scenario.py (3 × 1,000.00 + 30 / 20 / 10 interest, due 5 Feb, 5 Mar, 5 Apr 2026,
12%, penalty 18%). Installment 1 is paid 5 days late on 10 Feb (2.47 penalty); installment 2 is
missed. On 20 Mar (DPD 15, M1) core banking restructures the 2,000.00 open principal into four
installments of 500.00 (+ 25 / 20 / 15 / 10 interest) due on the 20th of Apr … Jul at 8%, so the
penalty rate becomes 12% (0.1643836 a day per 500.00).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal as D
from typing import Any

import pytest
from rm_testkit import LOAN, allocation
from sqlalchemy import text

from postloan_common.contracts import parse_data
from postloan_common.db import engine_scope
from postloan_common.messaging.envelope import Envelope

pytestmark = pytest.mark.integration

RESTRUCTURING: dict[str, Any] = {
    "restructure_id": "RS-1",
    "restructured_on": "2026-03-20",
    "reason": "hardship",
    "outstanding_principal": "2000.00",
    "annual_rate": "0.08",
    "installments": [
        {"seq": 1, "due_date": "2026-04-20", "principal": "500.00", "interest": "25.00"},
        {"seq": 2, "due_date": "2026-05-20", "principal": "500.00", "interest": "20.00"},
        {"seq": 3, "due_date": "2026-06-20", "principal": "500.00", "interest": "15.00"},
        {"seq": 4, "due_date": "2026-07-20", "principal": "500.00", "interest": "10.00"},
    ],
}
TABLES = (
    "loans",
    "installments",
    "replaced_installments",
    "restructurings",
    "repayments",
    "allocations",
    "outbox",
    "loan_events",
    "audit_log",
)


async def call(client, method: str, path: str, headers, expect: int, **kwargs: Any) -> Any:
    response = await client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == expect, response.text
    return response.json()


async def restructure(client, headers, body: dict[str, Any], expect: int, loan_id: str = "L-1001") -> Any:
    return await call(client, "POST", f"/v1/loans/{loan_id}/restructurings", headers, expect, json=body)


async def pay(client, headers, rid: str, amount: str, value_date: str, expect: int = 201) -> Any:
    body = {"repayment_id": rid, "amount": amount, "value_date": value_date, "channel": "bank-transfer"}
    return await call(client, "POST", "/v1/loans/L-1001/repayments", headers, expect, json=body)


async def advance(client, headers, to: str) -> None:
    await call(client, "POST", "/v1/calendar/advance", headers, 200, json={"to": to})


async def events(url: str, after_id: int = 0) -> list[tuple[int, Envelope]]:
    async with engine_scope(url) as engine, engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT id, payload FROM outbox WHERE topic = 'repayment.loans' AND id > :after ORDER BY id"),
            {"after": after_id},
        )
        found = [(r.id, Envelope.from_bytes(bytes(r.payload))) for r in rows]
    for _, event in found:
        parse_data(event)  # SQL-built events included, each matches its contract
    return found


async def rows(url: str, sql: str) -> list[Any]:
    async with engine_scope(url) as engine, engine.connect() as conn:
        return list((await conn.execute(text(sql))).all())


async def counts(url: str) -> dict[str, int]:
    async with engine_scope(url) as engine, engine.connect() as conn:
        return {t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one() for t in TABLES}


async def delinquent_loan(client, headers) -> None:
    await call(client, "POST", "/v1/loans", headers, 201, json=LOAN)
    await advance(client, headers, "2026-02-10")
    await pay(client, headers, "R1", "1032.47", "2026-02-10")
    await advance(client, headers, "2026-03-20")


async def test_restructuring_a_delinquent_loan(rm_api, token):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        await delinquent_loan(client, h)
        loan = await call(client, "GET", "/v1/loans/L-1001", h, 200)
        assert (loan["dpd"], loan["bucket"], D(loan["penalty"])) == (15, "M1", D("7.40"))
        (last_id, _), *_ = reversed(await events(url))

        created = await restructure(client, h, RESTRUCTURING, 201)
        assert (created["dpd_before"], created["bucket_before"], created["dpd_after"], created["bucket_after"]) == (
            15,
            "M1",
            0,
            "M0",
        )
        assert created["replaced_seqs"] == [2, 3]
        # Installment 2: 1,000 + 20 + 7.40 penalty (15 days × 0.4931507); installment 3: 1,000 + 10.
        assert created["replaced_open"] == {
            "penalty": "7.40",
            "fee": "0.00",
            "interest": "30.00",
            "principal": "2000.00",
        }
        assert (created["penalty_waived"], created["arrears_folded"]) == ("7.40", None)
        assert [(i["seq"], i["due_date"]) for i in created["installments"]] == [
            (4, "2026-04-20"),
            (5, "2026-05-20"),
            (6, "2026-06-20"),
            (7, "2026-07-20"),
        ]
        assert (created["outstanding_after"], created["overdue_after"]) == ("2070.00", "0.00")

        # The same restructuring again: the same answer and nothing else.
        before = await counts(url)
        assert await restructure(client, h, RESTRUCTURING, 200) == created
        assert await counts(url) == before
        # The same id with other content: a conflict, and nothing else.
        conflict = await restructure(client, h, {**RESTRUCTURING, "reason": "other"}, 409)
        assert conflict["reason"] == "restructure_id_reused"
        assert await counts(url) == before

        loan = await call(client, "GET", "/v1/loans/L-1001", h, 200)
        assert (loan["dpd"], loan["bucket"], D(loan["penalty"])) == (0, "M0", D("0.00"))
        assert D(loan["outstanding"]["total"]) == D("2070.00")
        assert loan["next_due"] == {"seq": 4, "due_date": "2026-04-20", "amount": "525.00"}
        schedule = await call(client, "GET", "/v1/loans/L-1001/schedule", h, 200)
        assert [(i["seq"], i["status"]) for i in schedule["installments"]] == [
            (1, "paid"),
            (4, "not_due"),
            (5, "not_due"),
            (6, "not_due"),
            (7, "not_due"),
        ]
        assert await rows(url, "SELECT seq FROM installments ORDER BY seq") == [(1,), (4,), (5,), (6,), (7,)]
        assert await rows(url, "SELECT seq, penalty, paid_penalty FROM replaced_installments ORDER BY seq") == [
            (2, D("7.40"), D("0.00")),
            (3, D("0.00"), D("0.00")),
        ]
        assert await rows(url, "SELECT penalty_rate, restructured_on::text FROM loans") == [
            (D("0.120000"), "2026-03-20")
        ]
        assert await rows(url, "SELECT actor, action, subject FROM audit_log WHERE action = 'loan.restructure'") == [
            ("tester", "loan.restructure", "RS-1")
        ]

        announced = [e for _, e in await events(url, last_id)]
        assert [e.type for e in announced] == ["loan-rescheduled", "delinquency-changed", "loan-cured"]
        assert announced[0].data == {
            "loan_id": "L-1001",
            "customer_id": "C-77",
            "restructure_id": "RS-1",
            "restructured_on": "2026-03-20",
            "reason": "hardship",
            "outstanding_principal": "2000.00",
            "installment_count": 4,
            "first_due_date": "2026-04-20",
            "maturity_date": "2026-07-20",
            "dpd_before": 15,
            "bucket_before": "M1",
        }
        assert (announced[1].data["from_bucket"], announced[1].data["to_bucket"]) == ("M1", "M0")
        history = await call(client, "GET", "/v1/loans/L-1001/events", h, 200)
        assert "loan-rescheduled" in [item["type"] for item in history["items"]]


async def test_close_of_day_after_a_restructuring_follows_the_new_schedule_only(rm_api, token):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        await delinquent_loan(client, h)
        await restructure(client, h, RESTRUCTURING, 201)
        (last_id, _), *_ = reversed(await events(url))

        # Old installment 3 (due 5 Apr) would have been due and missed in this stretch; new 4 is due on 20 Apr.
        await advance(client, h, "2026-04-22")
        closed = [e for _, e in await events(url, last_id) if e.type != "day-closed"]
        assert Counter(e.type for e in closed) == {"payment-due": 4, "payment-missed": 1, "delinquency-changed": 1}
        assert sorted(e.data["days_before_due"] for e in closed if e.type == "payment-due") == [0, 1, 3, 7]
        assert {e.data["installment_seq"] for e in closed if "installment_seq" in e.data} == {4}
        missed = next(e for e in closed if e.type == "payment-missed")
        assert (missed.data["amount_overdue"], missed.data["dpd"]) == ("525.00", 1)
        moved = next(e for e in closed if e.type == "delinquency-changed")
        # Only installment 4 is overdue on 21 Apr: 525.00 and one day of penalty (0.1643836 → 0.16).
        assert (moved.data["to_bucket"], moved.data["dpd"], moved.data["overdue_amount"]) == ("M1", 1, "525.16")

        loan = await call(client, "GET", "/v1/loans/L-1001", h, 200)
        assert (loan["dpd"], loan["bucket"], D(loan["penalty"])) == (2, "M1", D("0.33"))
        work = await call(client, "GET", "/v1/loans?min_dpd=1", h, 200)
        assert [(i["loan_id"], i["dpd"], i["overdue_amount"]) for i in work["items"]] == [("L-1001", 2, "525.33")]

        paid = await pay(client, h, "R2", "525.33", "2026-04-22")
        assert paid["allocation"] == allocation(penalty="0.33", interest="25.00", principal="500.00")
        assert (paid["dpd_after"], paid["bucket_after"]) == (0, "M0")


async def test_payments_before_the_restructuring_are_frozen(rm_api, token):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        await delinquent_loan(client, h)
        await restructure(client, h, RESTRUCTURING, 201)
        before = await counts(url)

        late = await pay(client, h, "R-LATE", "100.00", "2026-03-19", expect=422)
        assert late["reason"] == "value_date_before_restructuring"
        assert "restructuring RS-1 on 2026-03-20" in late["detail"]
        bounced = await call(client, "POST", "/v1/repayments/R1/reversal", h, 409, json={"reason": "bounced"})
        assert bounced["reason"] == "repayment_precedes_restructuring"
        assert await counts(url) == before

        # Valued on the restructuring day but posted after it: it pays the new schedule.
        same_day = await pay(client, h, "R2", "100.00", "2026-03-20")
        assert {line["seq"] for line in same_day["lines"]} == {4}
        await call(client, "POST", "/v1/repayments/R2/reversal", h, 200, json={"reason": "bounced"})


async def test_a_schedule_from_terms_folds_the_overdue_interest_in(rm_api, token):
    h = token("system")
    async with rm_api("2026-01-05") as (client, _url):
        await delinquent_loan(client, h)
        body = {
            **{k: v for k, v in RESTRUCTURING.items() if k not in ("installments", "annual_rate")},
            "terms": {"method": "equal_principal", "months": 4, "first_due_date": "2026-04-20"},
        }
        created = await restructure(client, h, body, 201)
        # 1% a month (12%, 30/360) on 2000 / 1500 / 1000 / 500, plus installment 2's 20.00 overdue interest / 4.
        assert [(i["seq"], i["principal"], i["interest"]) for i in created["installments"]] == [
            (4, "500.00", "25.00"),
            (5, "500.00", "20.00"),
            (6, "500.00", "15.00"),
            (7, "500.00", "10.00"),
        ]
        assert (created["annual_rate"], created["arrears_folded"]) == ("0.120000", {"interest": "20.00", "fee": "0.00"})


async def test_refused_restructurings_leave_no_trace(rm_api, token):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        await delinquent_loan(client, h)
        paid_off = {
            **LOAN,
            "loan_id": "L-PAID",
            "principal": "100.00",
            "installments": [{"seq": 1, "due_date": "2026-04-05", "principal": "100.00", "interest": "1.00"}],
        }
        await call(client, "POST", "/v1/loans", h, 201, json=paid_off)
        await call(
            client,
            "POST",
            "/v1/loans/L-PAID/repayments",
            h,
            201,
            json={"repayment_id": "R-P", "amount": "101.00", "value_date": "2026-03-20", "channel": "cash"},
        )
        before = await counts(url)
        one = [{"seq": 1, "due_date": "2026-04-20", "principal": "2000.00", "interest": "0.00"}]
        cases: list[tuple[str, dict[str, Any], int, str]] = [
            ("L-404", RESTRUCTURING, 404, "unknown_loan"),
            ("L-PAID", {**RESTRUCTURING, "outstanding_principal": "100.00"}, 409, "loan_closed"),
            ("L-1001", {**RESTRUCTURING, "restructured_on": "2026-03-21"}, 422, "restructured_on_in_future"),
            ("L-1001", {**RESTRUCTURING, "restructured_on": "2026-01-04"}, 422, "restructured_on_before_disbursement"),
            ("L-1001", {**RESTRUCTURING, "outstanding_principal": "2100.00"}, 422, "outstanding_principal_mismatch"),
            (
                "L-1001",
                {**RESTRUCTURING, "installments": [{**one[0], "due_date": "2026-03-20"}]},
                422,
                "invalid_schedule",
            ),
            (
                "L-1001",
                {**RESTRUCTURING, "installments": [{**one[0], "principal": "1999.99"}]},
                422,
                "invalid_schedule",
            ),
            ("L-1001", {**RESTRUCTURING, "installments": [{**one[0], "seq": 2}]}, 422, "invalid_schedule"),
        ]
        for loan_id, body, status, reason in cases:
            problem = await restructure(client, h, body, status, loan_id=loan_id)
            assert problem["reason"] == reason, (reason, problem)
        malformed = [
            {**RESTRUCTURING, "terms": {"method": "annuity", "months": 4, "first_due_date": "2026-04-20"}},
            {k: v for k, v in RESTRUCTURING.items() if k != "installments"},
            {**RESTRUCTURING, "outstanding_principal": "0.00"},
            {**RESTRUCTURING, "outstanding_principal": 2000.0},
            {**RESTRUCTURING, "currency": "CNY"},
        ]
        for body in malformed:
            await restructure(client, h, body, 422)
        assert (await restructure(client, token("collector"), RESTRUCTURING, 403))["status"] == 403
        assert await counts(url) == before

        # A loan is restructured at most once a day: a second one on 20 Mar is refused, one on 21 Mar is not.
        await restructure(client, h, {**RESTRUCTURING, "installments": one}, 201)
        again = await restructure(client, h, {**RESTRUCTURING, "restructure_id": "RS-2", "installments": one}, 422)
        assert again["reason"] == "restructured_on_not_after_previous"
        await advance(client, h, "2026-03-21")
        later = {**RESTRUCTURING, "restructure_id": "RS-3", "restructured_on": "2026-03-21"}
        assert (await restructure(client, h, later, 201))["replaced_seqs"] == [4]
