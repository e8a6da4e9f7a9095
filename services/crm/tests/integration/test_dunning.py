"""Dunning after the due date through the real consumer, the sender and the API (issue 16 item 1)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from crm_testkit import customer, day_closed, loan, missed, received

from postloan_crm.service.events import Trace
from postloan_crm.service.promises import make_promise
from postloan_crm.service.reminder_sending import send_due
from postloan_crm.store.cases import open_case

pytestmark = pytest.mark.integration

MORNING = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


class Recorder:
    def __init__(self) -> None:
        self.sent: list = []

    async def send(self, message) -> str | None:
        self.sent.append(message)
        return f"prov-{len(self.sent)}"


def senders(recorder: Recorder) -> dict[str, Recorder]:
    return {"sms": recorder, "email": recorder, "app_push": recorder, "letter": recorder}


async def dunning(crm) -> list[dict]:
    return await crm.rows(
        "SELECT case_id, step, channel, template, status, reason, language, body, recipient FROM communications"
        " WHERE kind = 'dunning' ORDER BY step"
    )


async def overdue(crm, *, address: dict | None = None) -> None:
    """C-77 in Shanghai misses installment 2 of L-1: one day past due, an automated-queue case."""
    extra = {"address": address} if address else {}
    await crm.feed(customer(**extra), topic="core-banking.customers")
    await crm.feed(loan(), missed(dpd=1, bucket="M1", on=date(2026, 3, 6)))


async def test_the_ladder_goes_out_step_by_step_once_each(crm):
    crm.clock.now = MORNING
    await overdue(crm, address={"line1": "1 Nanjing Road", "city": "Shanghai", "country": "CN"})
    await crm.feed(day_closed(date(2026, 3, 6)))
    await crm.feed(day_closed(date(2026, 3, 6)))  # a redelivered close of day plans nothing twice
    (first,) = await dunning(crm)
    assert (first["step"], first["channel"], first["template"], first["status"]) == (
        1,
        "sms",
        "dunning-overdue",
        "queued",
    )
    assert first["language"] == "zh-CN"
    assert "已逾期 1 天" in first["body"] and "1,020.00 CNY" in first["body"]

    await crm.feed(day_closed(date(2026, 3, 7)))  # DPD 2: no step
    assert len(await dunning(crm)) == 1
    await crm.feed(day_closed(date(2026, 3, 8)))  # DPD 3: the e-mail
    await crm.feed(day_closed(date(2026, 3, 20)))  # DPD 15: the letter, not the skipped SMS of DPD 7
    rows = await dunning(crm)
    assert [(r["step"], r["channel"]) for r in rows] == [(1, "sms"), (3, "email"), (15, "letter")]
    assert rows[2]["recipient"] == "1 Nanjing Road, Shanghai, CN"

    out = Recorder()
    report = await send_due(crm.sessions, senders=senders(out), now=MORNING)
    assert report.sent == 3
    assert sorted(m.channel for m in out.sent) == ["email", "letter", "sms"]
    sent = await crm.events("reminder-sent")
    assert sorted(e.data["template"] for e in sent) == ["dunning-notice", "dunning-overdue", "dunning-overdue"]
    assert all(e.data["case_id"] for e in sent)


async def test_dunning_in_quiet_hours_is_deferred_not_dropped(crm):
    crm.clock.now = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    await overdue(crm)
    await crm.feed(day_closed(date(2026, 3, 6)))
    (row,) = await dunning(crm)
    assert (row["status"], row["reason"]) == ("deferred", "quiet_hours")
    out = Recorder()
    assert (await send_due(crm.sessions, senders=senders(out), now=datetime(2026, 3, 6, 23, 0, tzinfo=UTC))).sent == 0
    assert (await send_due(crm.sessions, senders=senders(out), now=datetime(2026, 3, 7, 0, 0, tzinfo=UTC))).sent == 1


async def test_an_active_promise_stops_the_ladder_and_a_payment_suppresses_what_is_queued(crm):
    crm.clock.now = MORNING
    await overdue(crm)
    await crm.feed(day_closed(date(2026, 3, 6)))
    async with crm.sessions.begin() as session:
        case = await open_case(session, "L-1")
        assert case is not None
        await make_promise(
            session,
            case=case,
            amount=case["overdue_amount"],
            promised_date=date(2026, 3, 20),
            made_on=date(2026, 3, 7),
            agent_id=None,
            interaction_id=None,
            trace=Trace(),
        )
    await crm.feed(day_closed(date(2026, 3, 8)))  # DPD 3, but a promise is active: no e-mail
    assert [r["step"] for r in await dunning(crm)] == [1]
    out = Recorder()
    await send_due(crm.sessions, senders=senders(out), now=MORNING)
    (row,) = await dunning(crm)
    assert (row["status"], row["reason"]) == ("suppressed", "promise_active")
    assert out.sent == []


async def test_a_loan_paid_up_gets_no_more_dunning(crm):
    crm.clock.now = MORNING
    await overdue(crm)
    await crm.feed(day_closed(date(2026, 3, 6)))
    await crm.feed(received(amount="1020.00", value_date=date(2026, 3, 7), dpd=0, bucket="M0"))
    await send_due(crm.sessions, senders=senders(Recorder()), now=MORNING)
    await crm.feed(day_closed(date(2026, 3, 8)))
    (row,) = await dunning(crm)
    assert (row["status"], row["reason"]) == ("suppressed", "loan_paid")


async def test_ladders_are_part_of_the_contact_policy_and_dunning_shows_in_communications(crm, crm_api, token):
    crm.clock.now = MORNING
    admin = token("admin")
    async with crm_api(crm.url) as client:
        got = await client.get("/v1/contact-policy", headers=admin)
        assert got.status_code == 200, got.text
        automated = [x for x in got.json()["ladders"] if x["queue"] == "automated"]
        assert automated[0]["steps"][0] == {"dpd": 1, "channel": "sms", "template": "dunning-overdue"}

        ladder = {
            "queue": "automated",
            "bucket": "M1",
            "steps": [{"dpd": 2, "channel": "email", "template": "dunning-reminder"}],
        }
        put = await client.put("/v1/contact-policy", json={"ladders": [ladder]}, headers=admin)
        assert put.status_code == 200, put.text
        assert ladder in put.json()["ladders"]
        twice = await client.put("/v1/contact-policy", json={"ladders": [ladder, ladder]}, headers=admin)
        assert twice.status_code == 422
        assert (await client.put("/v1/contact-policy", json={}, headers=admin)).status_code == 422
        assert (
            await client.put("/v1/contact-policy", json={"ladders": [ladder]}, headers=token("collector"))
        ).status_code == 403

        await overdue(crm)
        await crm.feed(day_closed(date(2026, 3, 6)))  # DPD 1: the stored ladder starts at 2
        assert await dunning(crm) == []
        await crm.feed(day_closed(date(2026, 3, 7)))
        (row,) = await dunning(crm)
        assert (row["step"], row["channel"], row["template"]) == (2, "email", "dunning-reminder")

        listed = await client.get("/v1/customers/C-77/communications", headers=admin)
        assert listed.status_code == 200, listed.text
        (item,) = [c for c in listed.json()["items"] if c["kind"] == "dunning"]
        assert item["step"] == 2
        assert item["case_id"] == row["case_id"]
        audit = await crm.rows("SELECT action FROM audit_log WHERE action = 'contact-policy.put'")
        assert len(audit) == 1


async def test_the_overdue_cases_are_planned_afresh_on_every_run(crm):
    # A parameterless prepared statement keeps its first (generic) plan for the life of the connection;
    # made over an empty `communications`, it scanned that table once per case as the go-live day filled it.
    from sqlalchemy import text

    from postloan_crm.store.dunning import overdue_cases

    async with crm.sessions() as session:
        for _ in range(3):
            await overdue_cases(session)
        plans = (
            await session.execute(
                text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                    " WHERE statement LIKE '%AS promise_active%FROM cases c%'"
                    " AND statement NOT LIKE '%pg_prepared_statements%'"
                )
            )
        ).one()
    assert (plans.generic_plans, plans.custom_plans) == (0, 3)
