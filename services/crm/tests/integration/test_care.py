"""Care touchpoints from close of day, and events that cannot be applied going to the dead-letter topic."""

from __future__ import annotations

from datetime import date

import pytest
from crm_testkit import customer, day_closed, loan

from postloan_common.messaging.envelope import Envelope

pytestmark = pytest.mark.integration


async def test_day_close_plans_maturity_and_consented_birthday_touchpoints(crm):
    await crm.feed(
        customer("C-B", birth_date="1990-03-07", consents=[{"channel": "sms", "purpose": "care", "granted": True}]),
        customer("C-N", birth_date="1985-03-07"),  # no care consent: no birthday greeting
        topic="core-banking.customers",
    )
    await crm.feed(loan("L-B", "C-B"))  # matures 2026-04-05
    await crm.feed(day_closed(date(2026, 3, 1)))
    assert await crm.rows("SELECT customer_id, kind, due_on FROM care_touchpoints ORDER BY kind") == []
    await crm.feed(day_closed(date(2026, 3, 6)), day_closed(date(2026, 3, 6), partition=1))
    rows = await crm.rows("SELECT customer_id, loan_id, kind, due_on FROM care_touchpoints ORDER BY kind")
    assert rows == [
        {"customer_id": "C-B", "loan_id": None, "kind": "birthday", "due_on": date(2026, 3, 7)},
        {"customer_id": "C-B", "loan_id": "L-B", "kind": "maturity", "due_on": date(2026, 4, 5)},
    ]


async def test_event_that_breaks_its_contract_is_dead_lettered(crm):
    bad = Envelope(type="payment-due", source="repayment-monitor", subject="L-X", data={"loan_id": "L-X"})
    await crm.feed(bad, loan("L-OK", "C-1"))
    dead = await crm.rows("SELECT topic, headers FROM outbox WHERE topic LIKE '%.dlt'")
    assert len(dead) == 1
    assert dead[0]["topic"] == "repayment.loans.dlt"
    assert "does not match its contract" in dead[0]["headers"]["dlt-reason"]
    assert await crm.rows("SELECT loan_id FROM loans") == [{"loan_id": "L-OK"}]


async def test_care_touchpoints_are_sent_as_messages_only_where_the_customer_consented(crm):
    from datetime import UTC, datetime

    from postloan_crm.service.reminder_sending import send_due

    class Recorder:
        def __init__(self) -> None:
            self.sent: list = []

        async def send(self, message) -> str | None:
            self.sent.append(message)
            return "prov-1"

    await crm.feed(
        customer("C-B", birth_date="1990-03-07", consents=[{"channel": "sms", "purpose": "care", "granted": True}]),
        customer("C-N", birth_date="1985-03-07"),
        topic="core-banking.customers",
    )
    await crm.feed(loan("L-B", "C-B"), loan("L-N", "C-N"))
    await crm.feed(day_closed(date(2026, 3, 6)))
    await crm.feed(day_closed(date(2026, 3, 6)))  # redelivered: nothing twice
    rows = await crm.rows(
        "SELECT customer_id, loan_id, template, status, send_after, language FROM communications"
        " WHERE kind = 'care' ORDER BY template"
    )
    assert [(r["customer_id"], r["template"]) for r in rows] == [("C-B", "care-birthday"), ("C-B", "care-maturity")]
    assert rows[0]["send_after"] == datetime(2026, 3, 7, 0, 0, tzinfo=UTC)
    assert rows[1]["send_after"] == datetime(2026, 4, 5, 0, 0, tzinfo=UTC)
    out = Recorder()
    report = await send_due(crm.sessions, senders={"sms": out}, now=datetime(2026, 3, 7, 2, 0, tzinfo=UTC))
    assert report.sent == 1
    assert out.sent[0].body.startswith("祝您生日快乐")
