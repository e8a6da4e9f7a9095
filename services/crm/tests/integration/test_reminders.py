"""Reminders through the real consumer and the sender: quiet hours, caps, opt-outs, paid installments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from crm_testkit import customer, due, loan, received

from postloan_crm.adapters.channels import Outgoing, SendError
from postloan_crm.service.reminder_sending import send_due

pytestmark = pytest.mark.integration


class Recorder:
    """A channel adapter that keeps what it was asked to send (and can fail)."""

    def __init__(self, fail_with: SendError | None = None) -> None:
        self.sent: list[Outgoing] = []
        self.fail_with = fail_with

    async def send(self, message: Outgoing) -> str | None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(message)
        return f"prov-{len(self.sent)}"


def senders(recorder: Recorder) -> dict[str, Recorder]:
    return {"sms": recorder, "email": recorder, "app_push": recorder}


async def communications(crm) -> list[dict]:
    return await crm.rows("SELECT * FROM communications ORDER BY created_at, communication_id")


async def test_reminder_in_quiet_hours_is_deferred_to_eight_local_then_sent(crm):
    # 23:30 in Shanghai on 1 March = 15:30 UTC.
    crm.clock.now = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
    await crm.feed(customer(), topic="core-banking.customers")
    await crm.feed(loan(), due())
    (row,) = await communications(crm)
    assert row["status"] == "deferred"
    assert row["reason"] == "quiet_hours"
    assert row["channel"] == "sms"
    assert row["send_after"] == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 Shanghai on 2 March
    assert "PAY-L-1-2" in row["body"]
    assert "1,020.00 CNY" in row["body"]

    sms = Recorder()
    early = await send_due(crm.sessions, senders=senders(sms), now=datetime(2026, 3, 1, 23, 59, tzinfo=UTC))
    assert early.sent == 0
    assert sms.sent == []
    report = await send_due(crm.sessions, senders=senders(sms), now=datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    assert report.sent == 1
    assert [m.recipient for m in sms.sent] == ["+8613800138000"]
    (row,) = await communications(crm)
    assert row["status"] == "sent"
    (event,) = await crm.events("reminder-sent")
    assert event.subject == "C-77"
    assert event.data["deferred"] is True
    assert event.data["amount_due"] == "1020.00"
    # Sent once: another round finds nothing.
    assert (await send_due(crm.sessions, senders=senders(sms), now=datetime(2026, 3, 2, 1, 0, tzinfo=UTC))).sent == 0


async def test_same_instant_allowed_for_a_customer_in_another_time_zone(crm):
    crm.clock.now = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 Shanghai, 10:30 New York
    await crm.feed(customer("C-NY", tz="America/New_York", language="en"), topic="core-banking.customers")
    await crm.feed(loan("L-NY", "C-NY"), due("L-NY", "C-NY"))
    (row,) = await communications(crm)
    assert row["status"] == "queued"
    assert row["language"] == "en"
    assert row["body"].startswith("Payment reminder")


async def test_redelivered_payment_due_makes_no_second_reminder(crm):
    await crm.feed(customer(), topic="core-banking.customers")
    event = due()
    await crm.feed(loan(), event)
    await crm.feed(event)
    assert len(await communications(crm)) == 1


async def test_daily_cap_defers_the_next_reminder_to_the_next_day(crm):
    async with crm.sessions.begin() as session:
        from postloan_crm.domain.contact_policy import ContactPolicy
        from postloan_crm.service.policies import replace_policies

        await replace_policies(
            session,
            policies=[ContactPolicy("CN", "sms", None, None, max_per_day=1)],
            actor="test",
        )
    await crm.feed(customer(), topic="core-banking.customers")
    await crm.feed(loan(), due(days=3))
    sms = Recorder()
    assert (await send_due(crm.sessions, senders=senders(sms), now=crm.clock.now)).sent == 1
    await crm.feed(due(seq=3, days=7, due_date=date(2026, 4, 5)))
    second = (await communications(crm))[-1]
    assert second["status"] == "deferred"
    assert second["reason"] == "daily_cap"
    assert second["send_after"] == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # local midnight, no quiet hours set


async def test_opt_out_suppresses_at_planning_and_at_send_time(crm):
    consents = [
        {"channel": "sms", "granted": False},
        {"channel": "email", "granted": False},
    ]
    await crm.feed(customer(consents=consents), topic="core-banking.customers")
    await crm.feed(loan(), due())
    (row,) = await communications(crm)
    assert row["status"] == "suppressed"
    assert row["reason"] == "opt_out"

    # Consented when planned, opted out of SMS before it went out: it falls back to e-mail.
    await crm.feed(customer("C-2"), customer("C-3"), topic="core-banking.customers")
    await crm.feed(loan("L-2", "C-2"), due("L-2", "C-2"), loan("L-3", "C-3"), due("L-3", "C-3"))
    await crm.feed(
        customer("C-2", consents=[{"channel": "sms", "granted": False}]),
        customer("C-3", consents=consents),
        topic="core-banking.customers",
    )
    sms = Recorder()
    await send_due(crm.sessions, senders=senders(sms), now=crm.clock.now)
    assert [(m.channel, m.recipient) for m in sms.sent] == [("email", "zhang@example.com")]
    rows = {r["customer_id"]: r for r in await communications(crm)}
    assert (rows["C-2"]["status"], rows["C-2"]["channel"]) == ("sent", "email")
    # Opted out of every channel before it went out: suppressed.
    assert (rows["C-3"]["status"], rows["C-3"]["reason"]) == ("suppressed", "opt_out")


async def test_reminder_waits_for_a_customer_that_arrives_later(crm):
    await crm.feed(loan("L-9", "C-9"), due("L-9", "C-9"))
    (row,) = await communications(crm)
    assert (row["status"], row["reason"], row["channel"]) == ("queued", "awaiting_customer", None)
    sms = Recorder()
    report = await send_due(crm.sessions, senders=senders(sms), now=crm.clock.now)
    assert report.deferred == 1
    await crm.feed(customer("C-9", language="en"), topic="core-banking.customers")
    later = crm.clock.now + timedelta(minutes=1)
    assert (await send_due(crm.sessions, senders=senders(sms), now=later)).sent == 1
    (message,) = sms.sent
    assert message.body.startswith("Payment reminder")  # re-worded in the customer's language
    (row,) = await communications(crm)
    assert (row["status"], row["language"], row["channel"]) == ("sent", "en", "sms")


async def test_email_fallback_when_sms_opted_out(crm):
    await crm.feed(customer(consents=[{"channel": "sms", "granted": False}]), topic="core-banking.customers")
    await crm.feed(loan(), due())
    (row,) = await communications(crm)
    assert row["status"] == "queued"
    assert row["channel"] == "email"
    assert row["recipient"] == "zhang@example.com"


async def test_reminder_suppressed_when_the_installment_is_paid_by_send_time(crm):
    crm.clock.now = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # quiet hours: deferred to the morning
    await crm.feed(customer(), topic="core-banking.customers")
    await crm.feed(loan(), due(amount="1020.00"))
    await crm.feed(received(amount="1020.00", value_date=date(2026, 3, 2)))
    sms = Recorder()
    report = await send_due(crm.sessions, senders=senders(sms), now=datetime(2026, 3, 2, 0, 5, tzinfo=UTC))
    assert report.suppressed == 1
    assert sms.sent == []
    (row,) = await communications(crm)
    assert (row["status"], row["reason"]) == ("suppressed", "installment_paid")
    assert await crm.events("reminder-sent") == []


async def test_partial_payment_does_not_suppress(crm):
    await crm.feed(customer(), topic="core-banking.customers")
    await crm.feed(loan(), due(amount="1020.00"), received(amount="500.00", value_date=date(2026, 3, 2)))
    sms = Recorder()
    assert (await send_due(crm.sessions, senders=senders(sms), now=crm.clock.now)).sent == 1


async def test_provider_failure_is_retried_later_then_marked_failed(crm):
    await crm.feed(customer(), topic="core-banking.customers")
    await crm.feed(loan(), due())
    broken = Recorder(fail_with=SendError("HTTP 503", retryable=True))
    now = crm.clock.now
    report = await send_due(
        crm.sessions, senders=senders(broken), now=now, max_attempts=2, retry_after=timedelta(minutes=5)
    )
    assert report.retry == 1
    (row,) = await communications(crm)
    assert (row["status"], row["attempts"]) == ("queued", 1)
    assert row["send_after"] == now + timedelta(minutes=5)
    report = await send_due(crm.sessions, senders=senders(broken), now=now + timedelta(minutes=5), max_attempts=2)
    assert report.failed == 1
    (row,) = await communications(crm)
    assert (row["status"], row["reason"], row["attempts"]) == ("failed", "provider_error", 2)
