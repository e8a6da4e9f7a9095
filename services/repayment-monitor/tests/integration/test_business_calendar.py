"""The business calendar: holiday maintenance, and due dates shifted to business days.

Calendar (February 2026; the 1st is a Sunday, weekends Saturday and Sunday): Spring Festival
holidays Sunday 02-15 … Monday 02-23, Saturday 02-14 worked as a make-up day.

Product `shifty` shifts due dates, grace 2 days, reminders at T−3 and T0; the penalty is the
default 12% × 1.5 = 18% a year. Product `plain` has no row: no shift, grace 0, reminders T−7,
T−3, T−1, T0. Loans: 3,000.00 at 12%, 1,000.00 principal + 30 / 20 / 10 interest per installment.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from rm_testkit import loan_body, product_rules
from sqlalchemy import text

from postloan_common.catalog import all_topics
from postloan_common.contracts import LoanBookedV1, make_envelope, parse_data
from postloan_common.db import create_engine, engine_scope, session_factory
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_dev.devstack import DevStack
from postloan_dev.testing import wait_until
from postloan_repayment_monitor.consumers import LoanEventHandlers
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service import bulk
from postloan_repayment_monitor.settings import Settings
from postloan_repayment_monitor.store.tables import inbox, outbox

pytestmark = pytest.mark.integration

SHIFTY = product_rules(grace_days=2, due_offsets=[3, 0], shift_due_dates=True)
FESTIVAL = [(date(2026, 2, 15) + timedelta(days=k)).isoformat() for k in range(9)]
MAKE_UP = "2026-02-14"


async def fetch(url: str, sql: str, **params: Any) -> list[Any]:
    async with engine_scope(url) as engine, engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def due_dates(url: str, loan_id: str) -> list[tuple[int, date, date | None, date]]:
    """(seq, due_date, contract_due_date, grace_ends_on) of the loan's installments."""
    rows = await fetch(
        url,
        "SELECT seq, due_date, contract_due_date, grace_ends_on FROM installments WHERE loan_id = :l ORDER BY seq",
        l=loan_id,
    )
    return [tuple(r) for r in rows]


async def oldest_unpaid_due(url: str, loan_id: str) -> date | None:
    (row,) = await fetch(url, "SELECT oldest_unpaid_due FROM loans WHERE loan_id = :l", l=loan_id)
    return row[0]


async def audit_rows(url: str) -> list[Any]:
    return await fetch(
        url, "SELECT actor, action, subject, details FROM audit_log WHERE action LIKE 'calendar.day.%' ORDER BY id"
    )


async def loan_events(url: str, loan_id: str, *types: str) -> list[tuple[str, date, dict[str, Any]]]:
    """(type, business_date, data) of the loan's events of `types` in the outbox, checked against their contracts."""
    rows = await fetch(
        url, "SELECT payload FROM outbox WHERE key = :l AND event_type = ANY(:t) ORDER BY id", l=loan_id, t=list(types)
    )
    out = []
    for row in rows:
        envelope = Envelope.from_bytes(bytes(row.payload))
        parse_data(envelope)
        out.append((envelope.type, envelope.business_date, envelope.data))
    return out


async def put_day(client, headers, day: str, name: str, kind: str = "holiday", expect: int = 201) -> dict[str, Any]:
    response = await client.put(f"/v1/calendar/holidays/{day}", json={"name": name, "kind": kind}, headers=headers)
    assert response.status_code == expect, response.text
    return response.json()


async def festival(client, headers) -> None:
    for day in FESTIVAL:
        await put_day(client, headers, day, "Spring Festival")
    await put_day(client, headers, MAKE_UP, "Spring Festival make-up day", kind="working_day")


async def shifty_product(client, admin, **changes: Any) -> None:
    response = await client.put("/v1/products/shifty", json={**SHIFTY, **changes}, headers=admin)
    assert response.status_code in (200, 201), response.text


async def advance(client, headers, to: str) -> None:
    response = await client.post("/v1/calendar/advance", json={"to": to}, headers=headers)
    assert response.status_code == 200, response.text


async def book(client, headers, body: dict[str, Any]) -> None:
    response = await client.post("/v1/loans", json=body, headers=headers)
    assert response.status_code == 201, response.text


def d(text_: str) -> date:
    return date.fromisoformat(text_)


# --- maintenance ------------------------------------------------------------------------------------


async def test_holiday_crud_with_roles_and_audit(rm_api, token):
    system, admin = token("system", sub="core"), token("admin", sub="alice")
    async with rm_api("2026-01-05") as (client, url):
        for role in ("collector", "supervisor", "analyst", "risk_officer"):
            refused = await client.put(
                "/v1/calendar/holidays/2026-02-16", json={"name": "Spring Festival"}, headers=token(role)
            )
            assert refused.status_code == 403, refused.text
            assert (await client.delete("/v1/calendar/holidays/2026-02-16", headers=token(role))).status_code == 403

        created = await put_day(client, system, "2026-02-16", "Spring Festival")
        assert created["day"] == "2026-02-16" and created["kind"] == "holiday" and created["reshifted"] == 0
        assert created["updated_by"] == "core"
        # The same body again: 200, no second audit row.
        again = await put_day(client, system, "2026-02-16", "Spring Festival", expect=200)
        assert again == created
        renamed = await put_day(client, admin, "2026-02-16", "春节", expect=200)
        assert renamed["name"] == "春节" and renamed["updated_by"] == "alice"
        await put_day(client, admin, "2026-02-14", "make-up day", kind="working_day")
        await put_day(client, admin, "2026-03-01", "a named Sunday")

        listed = await client.get("/v1/calendar/holidays", params={"limit": 2}, headers=token("collector"))
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert [(i["day"], i["kind"]) for i in page["items"]] == [
            ("2026-02-14", "working_day"),
            ("2026-02-16", "holiday"),
        ]
        rest = await client.get(
            "/v1/calendar/holidays", params={"limit": 2, "cursor": page["next_cursor"]}, headers=token("analyst")
        )
        assert [i["day"] for i in rest.json()["items"]] == ["2026-03-01"] and rest.json()["next_cursor"] is None
        ranged = await client.get(
            "/v1/calendar/holidays", params={"from": "2026-02-15", "to": "2026-02-28"}, headers=token("analyst")
        )
        assert [i["day"] for i in ranged.json()["items"]] == ["2026-02-16"]

        days = await client.get(
            "/v1/calendar/non-business-days", params={"from": "2026-02-13", "to": "2026-02-22"}, headers=system
        )
        assert days.status_code == 200, days.text
        assert days.json()["weekend_days"] == ["saturday", "sunday"]
        assert [(i["day"], i["reason"], i["name"], i["shifts_to"]) for i in days.json()["items"]] == [
            ("2026-02-15", "weekend", "", "2026-02-17"),
            ("2026-02-16", "holiday", "春节", "2026-02-17"),
            ("2026-02-21", "weekend", "", "2026-02-23"),
            ("2026-02-22", "weekend", "", "2026-02-23"),
        ]
        calendar = await client.get("/v1/calendar", headers=system)
        assert calendar.json()["weekend_days"] == ["saturday", "sunday"]

        removed = await client.delete("/v1/calendar/holidays/2026-02-16", headers=admin)
        assert removed.status_code == 200, removed.text
        assert removed.json()["name"] == "春节" and removed.json()["reshifted"] == 0
        missing = await client.delete("/v1/calendar/holidays/2026-02-16", headers=admin)
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")

        rows = await audit_rows(url)
        assert [(r.actor, r.action, r.subject) for r in rows] == [
            ("core", "calendar.day.put", "2026-02-16"),
            ("alice", "calendar.day.put", "2026-02-16"),
            ("alice", "calendar.day.put", "2026-02-14"),
            ("alice", "calendar.day.put", "2026-03-01"),
            ("alice", "calendar.day.delete", "2026-02-16"),
        ]
        spring = {"kind": "holiday", "name": "Spring Festival"}
        created = {"kind": {"old": None, "new": "holiday"}, "name": {"old": None, "new": "Spring Festival"}}
        assert rows[0].details == {"old": None, "new": spring, "changes": created, "reshifted": 0}
        assert rows[1].details["old"] == spring
        assert rows[1].details["changes"] == {"name": {"old": "Spring Festival", "new": "春节"}}
        assert rows[4].details == {"old": {"kind": "holiday", "name": "春节"}, "reshifted": 0}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("2026-13-01", {"name": "no such month"}, "day"),
        ("05.02.2026", {"name": "not ISO"}, "day"),
        ("0001-01-01", {"name": "too early"}, None),
        ("2026-02-16", {"name": "Spring Festival", "kind": "half_day"}, "kind"),
        ("2026-02-16", {"name": ""}, "name"),
        ("2026-02-16", {"name": "x" * 101}, "name"),
        ("2026-02-16", {"name": "Spring Festival", "extra": 1}, "extra"),
        ("2026-02-16", {}, "name"),
    ],
)
async def test_bad_calendar_input_is_a_422_and_leaves_no_trace(rm_api, token, path, body, field):
    async with rm_api("2026-01-05") as (client, url):
        response = await client.put(f"/v1/calendar/holidays/{path}", json=body, headers=token("admin"))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        if field is not None:
            assert field in response.text
        deleted = await client.delete(f"/v1/calendar/holidays/{path}", headers=token("admin"))
        assert deleted.status_code in (404, 422)
        assert await fetch(url, "SELECT * FROM calendar_days") == []
        assert await audit_rows(url) == []


async def test_a_working_day_override_on_a_weekday_is_refused(rm_api, token):
    async with rm_api("2026-01-05") as (client, url):
        response = await client.put(
            "/v1/calendar/holidays/2026-02-16", json={"name": "not a weekend", "kind": "working_day"}, headers=token()
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "weekend" in response.json()["detail"]
        assert await fetch(url, "SELECT * FROM calendar_days") == []
        assert await audit_rows(url) == []
        bad_range = await client.get(
            "/v1/calendar/non-business-days", params={"from": "2026-03-01", "to": "2026-02-01"}, headers=token()
        )
        assert bad_range.status_code == 422
        too_long = await client.get(
            "/v1/calendar/non-business-days", params={"from": "2026-01-01", "to": "2027-01-02"}, headers=token()
        )
        assert too_long.status_code == 422
        bad_cursor = await client.get("/v1/calendar/holidays", params={"cursor": "nonsense"}, headers=token())
        assert bad_cursor.status_code == 400


# --- booking and close of day -----------------------------------------------------------------------


async def test_a_shifting_loan_falls_due_on_business_days_and_close_of_day_follows(rm_api, token):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        await shifty_product(client, token("admin"))
        await festival(client, h)
        # Mon 02-16 is in the festival → Tue 02-24; Sat 03-14 → Mon 03-16; Tue 04-14 stays.
        await book(client, h, loan_body("S-1", "shifty", "2026-02-16", "2026-03-14", "2026-04-14"))
        await book(client, h, loan_body("P-1", "plain", "2026-02-16", "2026-03-14", "2026-04-14"))

        assert await due_dates(url, "S-1") == [
            (1, d("2026-02-24"), d("2026-02-16"), d("2026-02-26")),
            (2, d("2026-03-16"), d("2026-03-14"), d("2026-03-18")),
            (3, d("2026-04-14"), None, d("2026-04-16")),
        ]
        assert await due_dates(url, "P-1") == [
            (1, d("2026-02-16"), None, d("2026-02-16")),
            (2, d("2026-03-14"), None, d("2026-03-14")),
            (3, d("2026-04-14"), None, d("2026-04-14")),
        ]
        assert await oldest_unpaid_due(url, "S-1") == d("2026-02-24")
        schedule = (await client.get("/v1/loans/S-1/schedule", headers=h)).json()
        assert [(i["due_date"], i["contract_due_date"]) for i in schedule["installments"]] == [
            ("2026-02-24", "2026-02-16"),
            ("2026-03-16", "2026-03-14"),
            ("2026-04-14", "2026-04-14"),
        ]
        assert [D(i["scheduled"]["total"]) for i in schedule["installments"]] == [D(1030), D(1020), D(1010)]
        (registered,) = await loan_events(url, "S-1", "loan-registered")
        assert (registered[2]["first_due_date"], registered[2]["maturity_date"]) == ("2026-02-24", "2026-04-14")
        detail = (await client.get("/v1/loans/S-1", headers=h)).json()
        assert (detail["next_due"]["due_date"], D(detail["next_due"]["amount"])) == ("2026-02-24", D(1030))

        await advance(client, h, "2026-02-28")

        # payment-due at T−3 and T0 of the shifted date, payment-missed at the close of its grace end
        # (02-26), stamped with the day it opens; nothing on the contractual 02-16 or its grace end.
        shifted = await loan_events(url, "S-1", "payment-due", "payment-missed")
        assert [(t, day, e["due_date"], e.get("days_before_due"), e.get("dpd")) for t, day, e in shifted] == [
            ("payment-due", d("2026-02-21"), "2026-02-24", 3, None),
            ("payment-due", d("2026-02-24"), "2026-02-24", 0, None),
            ("payment-missed", d("2026-02-27"), "2026-02-24", None, 3),
        ]
        plain = await loan_events(url, "P-1", "payment-due", "payment-missed")
        assert [(t, day, e["due_date"]) for t, day, e in plain] == [
            ("payment-due", d("2026-02-09"), "2026-02-16"),
            ("payment-due", d("2026-02-13"), "2026-02-16"),
            ("payment-due", d("2026-02-15"), "2026-02-16"),
            ("payment-due", d("2026-02-16"), "2026-02-16"),
            ("payment-missed", d("2026-02-17"), "2026-02-16"),
        ]

        # DPD and penalty count from the shifted date: on 02-28 S-1 is 4 days past due and has accrued
        # 2 days of penalty after its grace end (1,000 × 18% × 2 / 365 = 0.986 → 0.99); P-1 12 days,
        # 12 days of penalty (5.918 → 5.92).
        s_detail = (await client.get("/v1/loans/S-1", headers=h)).json()
        p_detail = (await client.get("/v1/loans/P-1", headers=h)).json()
        assert (s_detail["dpd"], s_detail["bucket"], D(s_detail["penalty"])) == (4, "M1", D("0.99"))
        assert (p_detail["dpd"], p_detail["bucket"], D(p_detail["penalty"])) == (12, "M1", D("5.92"))
        work = (await client.get("/v1/loans", params={"min_dpd": 1}, headers=h)).json()
        assert [(i["loan_id"], i["dpd"]) for i in work["items"]] == [("P-1", 12), ("S-1", 4)]


async def test_calendar_changes_reshift_only_installments_not_yet_due(rm_api, token):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        await shifty_product(client, token("admin"))
        # Thu 02-05, Thu 03-05, Sat 04-04 (→ Mon 04-06).
        await book(client, h, loan_body("S-1", "shifty", "2026-02-05", "2026-03-05", "2026-04-04"))
        await book(client, h, loan_body("P-1", "plain", "2026-02-05", "2026-03-05", "2026-04-04"))
        await advance(client, h, "2026-02-10")
        # Installment 1 with 3 days of penalty after its grace end (1,000 × 18% × 3 / 365 = 1.48).
        paid = await client.post(
            "/v1/loans/S-1/repayments",
            json={"repayment_id": "R-1", "amount": "1031.48", "value_date": "2026-02-10", "channel": "bank"},
            headers=h,
        )
        assert paid.status_code == 201, paid.text
        assert await oldest_unpaid_due(url, "S-1") == d("2026-03-05")
        plain_before = await due_dates(url, "P-1")

        # A day already reached moves nothing.
        assert (await put_day(client, h, "2026-02-05", "past"))["reshifted"] == 0
        assert (await put_day(client, h, "2026-02-10", "today"))["reshifted"] == 0
        # Thu 03-05 → Fri 03-06; the loan's oldest unpaid due date moves with it.
        assert (await put_day(client, h, "2026-03-05", "h1"))["reshifted"] == 1
        assert (await due_dates(url, "S-1"))[1] == (2, d("2026-03-06"), d("2026-03-05"), d("2026-03-08"))
        assert await oldest_unpaid_due(url, "S-1") == d("2026-03-06")
        # Fri 03-06 too → Mon 03-09.
        assert (await put_day(client, h, "2026-03-06", "h2"))["reshifted"] == 1
        assert (await due_dates(url, "S-1"))[1] == (2, d("2026-03-09"), d("2026-03-05"), d("2026-03-11"))
        # Renaming changes no date.
        assert (await put_day(client, h, "2026-03-06", "h2 renamed", expect=200))["reshifted"] == 0
        # Removing 03-05 puts it back on its contractual date.
        removed = await client.delete("/v1/calendar/holidays/2026-03-05", headers=h)
        assert removed.json()["reshifted"] == 1
        assert (await due_dates(url, "S-1"))[1] == (2, d("2026-03-05"), None, d("2026-03-07"))
        assert await oldest_unpaid_due(url, "S-1") == d("2026-03-05")
        # Working Saturday 04-04: due on its contractual date; a holiday again: back to Monday.
        assert (await put_day(client, h, "2026-04-04", "make-up", kind="working_day"))["reshifted"] == 1
        assert (await due_dates(url, "S-1"))[2] == (3, d("2026-04-04"), None, d("2026-04-06"))
        assert (await put_day(client, h, "2026-04-04", "holiday", expect=200))["reshifted"] == 1
        assert (await due_dates(url, "S-1"))[2] == (3, d("2026-04-06"), d("2026-04-04"), d("2026-04-08"))

        # The installment already due (02-05) never moved, and the non-shifting loan is untouched.
        assert (await due_dates(url, "S-1"))[0] == (1, d("2026-02-05"), None, d("2026-02-07"))
        assert await due_dates(url, "P-1") == plain_before
        assert [r.details["reshifted"] for r in await audit_rows(url)] == [0, 0, 1, 1, 0, 1, 1, 1]

        # Close of day follows the re-shifted date: payment-due T0 on 03-05 for S-1 and P-1.
        await put_day(client, h, "2026-03-05", "h1 again")
        assert (await due_dates(url, "S-1"))[1][1] == d("2026-03-09")
        await advance(client, h, "2026-03-12")
        s_events = await loan_events(url, "S-1", "payment-due", "payment-missed")
        assert [(t, day, e["due_date"]) for t, day, e in s_events if e["installment_seq"] == 2] == [
            ("payment-due", d("2026-03-06"), "2026-03-09"),
            ("payment-due", d("2026-03-09"), "2026-03-09"),
            ("payment-missed", d("2026-03-12"), "2026-03-09"),
        ]
        detail = (await client.get("/v1/loans/S-1", headers=h)).json()
        assert detail["dpd"] == 3  # 03-12 − 03-09


async def test_changing_a_products_shift_flag_reshifts_its_loans(rm_api, token):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        await shifty_product(client, token("admin"), shift_due_dates=False)
        await put_day(client, h, "2026-03-05", "h1")
        # Sat 01-31, Thu 03-05 (holiday), Sat 04-04.
        await book(client, h, loan_body("S-1", "shifty", "2026-01-31", "2026-03-05", "2026-04-04"))
        await book(client, h, loan_body("S-2", "shifty", "2026-03-05", "2026-04-04", "2026-05-05"))
        await advance(client, h, "2026-02-03")
        assert [r[1] for r in await due_dates(url, "S-1")] == [d("2026-01-31"), d("2026-03-05"), d("2026-04-04")]

        await shifty_product(client, token("admin"), shift_due_dates=True)
        # 01-31 is past due and stays; the others move.
        assert await due_dates(url, "S-1") == [
            (1, d("2026-01-31"), None, d("2026-02-02")),
            (2, d("2026-03-06"), d("2026-03-05"), d("2026-03-08")),
            (3, d("2026-04-06"), d("2026-04-04"), d("2026-04-08")),
        ]
        (audited,) = await fetch(
            url, "SELECT details FROM audit_log WHERE action = 'product.put' ORDER BY id DESC LIMIT 1"
        )
        assert audited[0]["reshifted"] == 4
        # A loan not yet past due gets the new date of its first installment as its oldest unpaid one.
        assert await oldest_unpaid_due(url, "S-2") == d("2026-03-06")
        assert await oldest_unpaid_due(url, "S-1") == d("2026-01-31")
        # Other edits of the product move nothing.
        await shifty_product(client, token("admin"), due_offsets=[1, 0])
        (audited,) = await fetch(
            url, "SELECT details FROM audit_log WHERE action = 'product.put' ORDER BY id DESC LIMIT 1"
        )
        assert "reshifted" not in audited[0]

        await shifty_product(client, token("admin"), shift_due_dates=False)
        assert [r[1:3] for r in await due_dates(url, "S-1")] == [
            (d("2026-01-31"), None),
            (d("2026-03-05"), None),
            (d("2026-04-04"), None),
        ]
        assert await oldest_unpaid_due(url, "S-2") == d("2026-03-05")


async def test_a_restructured_schedule_of_a_shifting_product_is_shifted(rm_api, token):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        await shifty_product(client, token("admin"))
        await put_day(client, h, "2026-02-16", "a Monday off")
        await book(client, h, loan_body("S-1", "shifty", "2026-02-05", "2026-03-05", "2026-04-06"))
        body = {
            "restructure_id": "RS-1",
            "restructured_on": "2026-01-05",
            "reason": "hardship",
            "outstanding_principal": "3000.00",
            # Sat 02-14 → Mon 02-16 is off → Tue 02-17; Sat 03-14 → Mon 03-16; Tue 04-14.
            "installments": [
                {"seq": k + 1, "due_date": due, "principal": "1000.00", "interest": "10.00"}
                for k, due in enumerate(("2026-02-14", "2026-03-14", "2026-04-14"))
            ],
        }
        response = await client.post("/v1/loans/S-1/restructurings", json=body, headers=h)
        assert response.status_code == 201, response.text
        assert [(i["seq"], i["due_date"]) for i in response.json()["installments"]] == [
            (4, "2026-02-17"),
            (5, "2026-03-16"),
            (6, "2026-04-14"),
        ]
        assert await due_dates(url, "S-1") == [
            (4, d("2026-02-17"), d("2026-02-14"), d("2026-02-19")),
            (5, d("2026-03-16"), d("2026-03-14"), d("2026-03-18")),
            (6, d("2026-04-14"), None, d("2026-04-16")),
        ]
        assert await oldest_unpaid_due(url, "S-1") == d("2026-02-17")
        (rescheduled,) = await loan_events(url, "S-1", "loan-rescheduled")
        assert (rescheduled[2]["first_due_date"], rescheduled[2]["maturity_date"]) == ("2026-02-17", "2026-04-14")
        again = await client.post("/v1/loans/S-1/restructurings", json=body, headers=h)
        assert again.status_code == 200 and again.json() == response.json()
        schedule = (await client.get("/v1/loans/S-1/schedule", headers=h)).json()
        assert [(i["seq"], i["due_date"], i["contract_due_date"]) for i in schedule["installments"]] == [
            (4, "2026-02-17", "2026-02-14"),
            (5, "2026-03-16", "2026-03-14"),
            (6, "2026-04-14", "2026-04-14"),
        ]


# --- the event path and bulk intake -----------------------------------------------------------------


async def test_loans_booked_by_event_are_shifted_too(rm_api, token, devstack: DevStack, unique_topic):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        await shifty_product(client, token("admin"))
        await festival(client, h)
        topic = unique_topic("core-banking.loans")
        await ensure_topics(devstack.kafka_bootstrap, all_topics(), partitions=4)
        await ensure_topics(devstack.kafka_bootstrap, [topic, f"{topic}.dlt"], partitions=1)
        settings = Settings(
            database_url=url, initial_business_date=date(2026, 1, 5), kafka_bootstrap_servers=devstack.kafka_bootstrap
        )
        handlers = LoanEventHandlers(settings=settings, buckets=BucketScheme())
        engine = create_engine(url)
        stop = asyncio.Event()
        name = f"repayment-monitor-{uuid.uuid4().hex[:8]}"
        consumer = Consumer(
            ConsumerConfig(
                name=name, topics=[topic], bootstrap_servers=devstack.kafka_bootstrap, session_timeout_ms=6000
            ),
            sessions=session_factory(engine),
            inbox=inbox,
            outbox=outbox,
            handlers=handlers.handlers(),
            batch_handlers=handlers.batch_handlers(),
        )
        task = asyncio.create_task(consumer.run(stop))
        try:
            data = LoanBookedV1.model_validate(loan_body("E-1", "shifty", "2026-02-16", "2026-03-14", "2026-04-14"))
            event = make_envelope(data=data, source="core-banking", subject="E-1")
            producer = AIOKafkaProducer(bootstrap_servers=devstack.kafka_bootstrap, acks="all")
            await producer.start()
            try:
                await producer.send_and_wait(topic, value=event.to_bytes(), key=b"E-1")
            finally:
                await producer.stop()

            async def applied() -> bool:
                return bool(await fetch(url, "SELECT 1 FROM inbox WHERE event_id = :e", e=event.id))

            await wait_until(applied, what="the loan-booked event to be applied")
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
            await engine.dispose()
        assert await due_dates(url, "E-1") == [
            (1, d("2026-02-24"), d("2026-02-16"), d("2026-02-26")),
            (2, d("2026-03-16"), d("2026-03-14"), d("2026-03-18")),
            (3, d("2026-04-14"), None, d("2026-04-16")),
        ]
        assert await oldest_unpaid_due(url, "E-1") == d("2026-02-24")


async def test_bulk_intake_shifts_loans_of_shifting_products(rm_api, token, tmp_path: Path):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        await shifty_product(client, token("admin"))
        await festival(client, h)
        bodies = [
            loan_body("S-1", "shifty", "2026-02-16", "2026-03-14", "2026-04-14"),
            # Out of the fast path's canonical form (a rate with 8 decimals), so LoanIn reads it.
            {**loan_body("S-2", "shifty", "2026-02-14", "2026-03-14", "2026-04-18"), "annual_rate": "0.12000000"},
            {
                **{k: v for k, v in loan_body("S-3", "shifty").items() if k != "installments"},
                "terms": {"method": "equal_principal", "months": 3, "first_due_date": "2026-02-21"},
            },
            loan_body("P-1", "plain", "2026-02-16", "2026-03-14", "2026-04-14"),
        ]
        path = tmp_path / "portfolio.ndjson"
        path.write_text("".join(json.dumps(b) + "\n" for b in bodies))
        async with engine_scope(url) as engine:
            sessions = session_factory(engine)
            job_id = bulk.new_job_id()
            async with sessions.begin() as session:
                await bulk.create_job(session, job_id=job_id, fmt="ndjson", submitted_by="test")
            progress = await bulk.load_file(
                sessions,
                job_id=job_id,
                path=path,
                fmt="ndjson",
                initial_business_date=date(2026, 1, 5),
                buckets=BucketScheme(),
                chunk_size=3,
            )
        assert (progress.status, progress.loaded, progress.rejected) == ("succeeded", 4, 0), progress.errors

        assert await due_dates(url, "S-1") == [
            (1, d("2026-02-24"), d("2026-02-16"), d("2026-02-26")),
            (2, d("2026-03-16"), d("2026-03-14"), d("2026-03-18")),
            (3, d("2026-04-14"), None, d("2026-04-16")),
        ]
        # 02-14 is a worked Saturday; Sat 04-18 → Mon 04-20.
        assert [r[1:3] for r in await due_dates(url, "S-2")] == [
            (d("2026-02-14"), None),
            (d("2026-03-16"), d("2026-03-14")),
            (d("2026-04-20"), d("2026-04-18")),
        ]
        # Terms from Sat 02-21 (festival): 02-24, Sat 03-21 → 03-23, Tue 04-21.
        assert [r[1:3] for r in await due_dates(url, "S-3")] == [
            (d("2026-02-24"), d("2026-02-21")),
            (d("2026-03-23"), d("2026-03-21")),
            (d("2026-04-21"), None),
        ]
        assert [r[1:3] for r in await due_dates(url, "P-1")] == [
            (d("2026-02-16"), None),
            (d("2026-03-14"), None),
            (d("2026-04-14"), None),
        ]
        assert [await oldest_unpaid_due(url, x) for x in ("S-1", "S-2", "S-3", "P-1")] == [
            d("2026-02-24"),
            d("2026-02-14"),
            d("2026-02-24"),
            d("2026-02-16"),
        ]
        registered = {}
        for loan_id in ("S-1", "S-2", "S-3", "P-1"):
            (event,) = await loan_events(url, loan_id, "loan-registered")
            registered[loan_id] = (event[2]["first_due_date"], event[2]["maturity_date"])
        assert registered == {
            "S-1": ("2026-02-24", "2026-04-14"),
            "S-2": ("2026-02-14", "2026-04-20"),
            "S-3": ("2026-02-24", "2026-04-21"),
            "P-1": ("2026-02-16", "2026-04-14"),
        }
        history = await fetch(
            url, "SELECT data FROM loan_events WHERE loan_id = 'S-1' AND event_type = 'loan-registered'"
        )
        assert history[0][0]["first_due_date"] == "2026-02-24"
