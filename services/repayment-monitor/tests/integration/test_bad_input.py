"""Bad input of every kind is refused with the right 4xx problem and leaves no trace in the database.

One book for all cases: L-1 (3,000.00 in three installments, R-OK paid on it) and L-PAID (paid off,
closed), business date 2026-02-10. Each case is sent, its answer checked, and every table a write
could touch is counted before and after.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from rm_testkit import loan_body
from sqlalchemy import text

from postloan_common.db import engine_scope

pytestmark = pytest.mark.integration

TABLES = (
    "loans",
    "installments",
    "repayments",
    "allocations",
    "outbox",
    "loan_events",
    "audit_log",
    "closed_days",
    "products",
)

LOAN = loan_body("L-1", customer_id="C-1")
PAID = {
    **LOAN,
    "loan_id": "L-PAID",
    "principal": "100.00",
    "installments": [{"seq": 1, "due_date": "2026-02-05", "principal": "100.00", "interest": "1.00"}],
}
PAYMENT = {"repayment_id": "R-OK", "amount": "500.00", "value_date": "2026-02-06", "channel": "bank-transfer"}
TERMS = {"method": "annuity", "months": 12, "first_due_date": "2026-02-05"}


def cursor_of(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def loan(**change: Any) -> dict[str, Any]:
    """A new loan (L-NEW) with `change`; a value of None removes the field."""
    body = {**LOAN, "loan_id": "L-NEW", **change}
    return {k: v for k, v in body.items() if v is not None}


def installments(*rows: tuple[int, str, str]) -> list[dict[str, Any]]:
    return [{"seq": s, "due_date": d, "principal": p, "interest": "0.00"} for s, d, p in rows]


def payment(**change: Any) -> dict[str, Any]:
    return {**PAYMENT, "repayment_id": "R-NEW", **change}


@dataclass
class Case:
    name: str
    method: str
    path: str
    status: int
    body: Any = None
    raw: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)
    # For validation errors: a field the problem must name (in `errors` and in `detail`).
    field: str | None = None
    # Otherwise: words the problem's detail must contain.
    says: str | None = None


def bad_loan(name: str, body: Any, status: int = 422, **expect: Any) -> Case:
    """A POST /v1/loans that must be refused with `status`."""
    return Case(f"loan: {name}", "POST", "/v1/loans", status, body=body, **expect)


def bad_payment(name: str, body: Any, status: int = 422, loan: str = "L-1", **expect: Any) -> Case:
    """A POST /v1/loans/{loan}/repayments that must be refused with `status`."""
    return Case(f"pay: {name}", "POST", f"/v1/loans/{loan}/repayments", status, body=body, **expect)


def bad_schedule(name: str, *rows: tuple[int, str, str], **expect: Any) -> Case:
    """A new loan whose explicit schedule (seq, due date, principal) must be refused."""
    return bad_loan(name, loan(installments=installments(*rows)), **expect)


def bad_cursor(name: str, path: str, cursor: str) -> Case:
    """A GET of the list at `path` with a cursor this API did not hand out: 400, naming the cursor."""
    return Case(name, "GET", path, 400, params={"cursor": cursor}, says="cursor")


CASES = [
    # --- POST /v1/loans
    Case("loan: malformed JSON", "POST", "/v1/loans", 422, raw=b'{"loan_id": "L-NEW", ', field="body"),
    bad_loan("not an object", [LOAN], field="body"),
    bad_loan("missing field", loan(customer_id=None), field="body.customer_id"),
    bad_loan("installments and terms", loan(terms=TERMS), says="installments"),
    bad_loan("neither schedule", loan(installments=None), says="terms"),
    bad_loan("float principal", loan(principal=3000.5), field="body.principal"),
    bad_loan("negative principal", loan(principal="-3000.00"), field="body.principal"),
    bad_loan("zero principal", loan(principal="0.00"), field="body.principal"),
    bad_loan("3 decimals", loan(principal="3000.001"), field="body.principal"),
    bad_loan("exponent", loan(principal="3e3"), field="body.principal"),
    bad_loan(
        "principal beyond the ledger",
        loan(
            principal="100000000000000000.00",
            installments=installments((1, "2026-02-05", "100000000000000000.00")),
        ),
        field="body.principal",
    ),
    bad_loan("rate beyond the ledger", loan(annual_rate="1000000"), field="body.annual_rate"),
    bad_loan("negative rate", loan(annual_rate="-0.12"), field="body.annual_rate"),
    bad_loan("lower-case currency", loan(currency="cny"), field="body.currency"),
    bad_loan("4-letter currency", loan(currency="CNYX"), field="body.currency"),
    bad_loan("bad id", loan(loan_id="L 1/../x"), field="body.loan_id"),
    bad_loan("bad date", loan(disbursed_on="2026-02-30"), field="body.disbursed_on"),
    bad_loan(
        "float interest",
        loan(installments=[{**LOAN["installments"][0], "interest": 30.0}, *LOAN["installments"][1:]]),
        field="body.installments[0].interest",
    ),
    bad_loan(
        "installment extra field",
        loan(installments=[{**LOAN["installments"][0], "penalty": "1.00"}, *LOAN["installments"][1:]]),
        field="body.installments[0].penalty",
    ),
    bad_loan("empty schedule", loan(installments=[]), field="body.installments"),
    bad_schedule(
        "installments not summing to principal",
        (1, "2026-02-05", "1000.00"),
        (2, "2026-03-05", "1999.99"),
        says="sums to 2999.99",
    ),
    bad_schedule("seq gap", (1, "2026-02-05", "1000.00"), (3, "2026-03-05", "2000.00"), says="seq"),
    bad_schedule("duplicate seq", (1, "2026-02-05", "1000.00"), (1, "2026-03-05", "2000.00"), says="seq"),
    bad_schedule(
        "due dates not increasing", (1, "2026-03-05", "1000.00"), (2, "2026-02-05", "2000.00"), says="due dates"
    ),
    bad_schedule("same due date twice", (1, "2026-03-05", "1000.00"), (2, "2026-03-05", "2000.00"), says="due dates"),
    bad_schedule("first due before disbursement", (1, "2026-01-01", "3000.00"), says="disbursed_on"),
    bad_loan(
        "first due on the disbursement day",
        loan(terms={**TERMS, "first_due_date": "2026-01-05"}, installments=None),
        says="disbursed_on",
    ),
    bad_loan("zero months", loan(terms={**TERMS, "months": 0}, installments=None), field="body.terms.months"),
    bad_loan(
        "unknown method", loan(terms={**TERMS, "method": "balloon"}, installments=None), field="body.terms.method"
    ),
    bad_schedule("due date near the end of time", (1, "9999-12-01", "3000.00"), field="body.installments[0].due_date"),
    bad_loan("disbursed in year 1", loan(disbursed_on="0001-01-01"), field="body.disbursed_on"),
    bad_loan("same id, other content", {**LOAN, "branch": "BJ01"}, status=409, says="L-1"),
    # --- POST /v1/loans/{id}/repayments
    bad_payment("unknown loan", payment(), status=404, loan="L-NOPE", says="L-NOPE"),
    bad_payment("closed loan", payment(), status=409, loan="L-PAID", says="closed"),
    bad_payment("zero", payment(amount="0.00"), field="body.amount"),
    bad_payment("negative", payment(amount="-10.00"), field="body.amount"),
    bad_payment("float", payment(amount=10.5), field="body.amount"),
    bad_payment("beyond the ledger", payment(amount="100000000000000000.00"), field="body.amount"),
    bad_payment("wrong currency", payment(currency="USD"), says="CNY"),
    bad_payment("value date after the business date", payment(value_date="2026-02-11"), says="after the business date"),
    bad_payment("value date before disbursement", payment(value_date="2026-01-04"), says="before the disbursement"),
    Case("pay: malformed JSON", "POST", "/v1/loans/L-1/repayments", 422, raw=b'{"amount": "1.00"', field="body"),
    Case("pay: empty body", "POST", "/v1/loans/L-1/repayments", 422, raw=b"", field="body"),
    bad_payment("unknown field", payment(memo="hi"), field="body.memo"),
    bad_payment("missing channel", {k: v for k, v in payment().items() if k != "channel"}, field="body.channel"),
    bad_payment("same id, other amount", {**PAYMENT, "amount": "500.01"}, status=409, says="R-OK"),
    bad_payment("same id, other loan", PAYMENT, status=409, loan="L-PAID", says="R-OK"),
    # --- reversal, calendar, cursors
    Case(
        "reverse: unknown repayment", "POST", "/v1/repayments/R-NOPE/reversal", 404, body={"reason": "x"}, says="R-NOPE"
    ),
    Case("reverse: unknown field", "POST", "/v1/repayments/R-OK/reversal", 422, body={"why": "x"}, field="body.why"),
    Case(
        "reverse: empty reason", "POST", "/v1/repayments/R-OK/reversal", 422, body={"reason": ""}, field="body.reason"
    ),
    Case("advance: to the past", "POST", "/v1/calendar/advance", 409, body={"to": "2026-02-01"}, says="2026-02-10"),
    Case("advance: too far", "POST", "/v1/calendar/advance", 422, body={"to": "2099-01-01"}, says="366"),
    Case("advance: not a date", "POST", "/v1/calendar/advance", 422, body={"to": "tomorrow"}, field="body.to"),
    Case(
        "close-day: a later day",
        "POST",
        "/v1/calendar/close-day",
        409,
        body={"business_date": "2026-02-12"},
        says="2026-02-10",
    ),
    bad_cursor("work list: garbage cursor", "/v1/loans", "%%%not-base64"),
    bad_cursor("work list: cursor of the wrong shape", "/v1/loans", cursor_of([1])),
    bad_cursor("work list: cursor of a dict", "/v1/loans", cursor_of({"a": 1})),
    bad_cursor("work list: cursor with a bad date", "/v1/loans", cursor_of(["x", "L-1"])),
    Case("work list: unknown status", "GET", "/v1/loans", 422, params={"status": "lost"}, field="query.status"),
    Case("work list: negative min_dpd", "GET", "/v1/loans", 422, params={"min_dpd": "-1"}, field="query.min_dpd"),
    Case("work list: limit 0", "GET", "/v1/loans", 422, params={"limit": "0"}, field="query.limit"),
    bad_cursor("events: garbage cursor", "/v1/loans/L-1/events", "!!"),
    bad_cursor("events: cursor of two values", "/v1/loans/L-1/events", cursor_of([1, 2])),
    bad_cursor("events: cursor of a string", "/v1/loans/L-1/events", cursor_of(["1"])),
    bad_cursor("events: cursor of a boolean", "/v1/loans/L-1/events", cursor_of([True])),
    bad_cursor("events: cursor beyond bigint", "/v1/loans/L-1/events", cursor_of([2**70])),
    Case("events: unknown loan", "GET", "/v1/loans/L-NOPE/events", 404, says="L-NOPE"),
    Case("detail: unknown loan", "GET", "/v1/loans/L-NOPE", 404, says="L-NOPE"),
    Case("schedule: unknown loan", "GET", "/v1/loans/L-NOPE/schedule", 404, says="L-NOPE"),
    Case(
        "dpd history: bad start", "GET", "/v1/loans/L-1/dpd-history", 422, params={"start": "soon"}, field="query.start"
    ),
]


async def counts(url: str) -> dict[str, int]:
    async with engine_scope(url) as engine, engine.connect() as conn:
        return {t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one() for t in TABLES}


async def business_date(client, headers) -> str:
    return (await client.get("/v1/calendar", headers=headers)).json()["business_date"]


async def send(client, case: Case, headers: dict[str, str]):
    if case.raw is not None:
        return await client.request(
            case.method,
            case.path,
            content=case.raw,
            params=case.params,
            headers={**headers, "Content-Type": "application/json"},
        )
    if case.body is not None:
        return await client.request(case.method, case.path, json=case.body, params=case.params, headers=headers)
    return await client.request(case.method, case.path, params=case.params, headers=headers)


async def test_bad_input_is_refused_and_leaves_no_trace(rm_api, token):
    h = token("admin")
    async with rm_api("2026-01-05") as (client, url):
        for body in (LOAN, PAID):
            assert (await client.post("/v1/loans", json=body, headers=h)).status_code == 201
        assert (await client.post("/v1/calendar/advance", json={"to": "2026-02-10"}, headers=h)).status_code == 200
        paid = {"repayment_id": "R-PAID", "amount": "101.00", "value_date": "2026-02-05", "channel": "counter"}
        closing = await client.post("/v1/loans/L-PAID/repayments", json=paid, headers=h)
        assert closing.status_code == 201 and closing.json()["loan_status"] == "closed", closing.text
        assert (await client.post("/v1/loans/L-1/repayments", json=PAYMENT, headers=h)).status_code == 201

        baseline = await counts(url)
        assert baseline["loans"] == 2 and baseline["repayments"] == 2 and baseline["audit_log"] > 0
        failures = []
        for case in CASES:
            response = await send(client, case, h)
            problem = response.json() if response.content else {}
            try:
                assert response.status_code < 500, "a 5xx"
                assert response.status_code == case.status, f"status {response.status_code}"
                assert response.headers["content-type"].startswith("application/problem+json"), "not problem+json"
                assert problem.get("status") == case.status and problem.get("title"), "problem members"
                detail = problem.get("detail")
                assert isinstance(detail, str) and len(detail) > 10, "no clear detail"
                if case.field is not None:
                    named = [e["field"] for e in problem.get("errors", [])]
                    assert any(f == case.field or f.startswith(case.field + ".") for f in named), f"fields {named}"
                    assert case.field in detail, "detail does not name the field"
                if case.says is not None:
                    assert case.says in detail, "detail does not say it"
                assert await counts(url) == baseline, "left a trace"
            except AssertionError as exc:
                failures.append(f"{case.name}: {exc}: {response.status_code} {response.text[:300]}")
        assert await business_date(client, h) == "2026-02-10"
        assert not failures, "\n".join(failures)


async def test_a_refused_booking_does_not_block_the_correct_one(rm_api, token):
    """The refusal rolled back completely: the same loan id can then be booked with the right content."""
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        before = await counts(url)
        wrong = loan(installments=installments((1, "2026-02-05", "1000.00"), (2, "2026-03-05", "1999.99")))
        assert (await client.post("/v1/loans", json=wrong, headers=h)).status_code == 422
        assert await counts(url) == before
        right = await client.post("/v1/loans", json=loan(), headers=h)
        assert right.status_code == 201, right.text


async def test_a_due_date_whose_grace_would_run_past_year_9999_is_refused(rm_api, token):
    product = {
        "waterfall": "installment_first",
        "component_order": ["penalty", "fee", "interest", "principal"],
        "penalty_annual_rate": None,
        "penalty_multiplier": "1.5",
        "grace_days": 90,
        "overpayment": "credit",
        "due_offsets": [0],
        "shift_due_dates": False,
    }
    async with rm_api("2026-01-05") as (client, url):
        assert (await client.put("/v1/products/long-grace", json=product, headers=token("admin"))).status_code == 201
        before = await counts(url)
        body = loan(product="long-grace", installments=installments((1, "9999-12-01", "3000.00")))
        response = await client.post("/v1/loans", json=body, headers=token("system"))
        assert response.status_code == 422, response.text
        assert "body.installments[0].due_date" in response.json()["detail"]
        assert await counts(url) == before
