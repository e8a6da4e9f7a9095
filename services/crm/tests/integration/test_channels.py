"""Channel adapters against real local servers: an aiosmtpd SMTP server and a small HTTP provider."""

from __future__ import annotations

import email
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller
from crm_testkit import Provider, customer, due, loan

from postloan_crm.adapters.channels import Outgoing, SendError, SmtpSender, WebhookSender
from postloan_crm.service.reminder_sending import send_due
from postloan_dev.devstack import free_port

pytestmark = pytest.mark.integration


class Mailbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content, policy=email_policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, box
    finally:
        controller.stop()


MESSAGE = Outgoing(
    key="comm-1",
    channel="sms",
    recipient="+8613800138000",
    subject=None,
    body="还款提醒 1,020.00 CNY",
    language="zh-CN",
)


async def test_email_is_really_received_by_an_smtp_server(smtp_server):
    controller, box = smtp_server
    sender = SmtpSender(host="127.0.0.1", port=controller.port, sender="reminders@bank.test")
    message_id = await sender.send(
        Outgoing(
            key="comm-7",
            channel="email",
            recipient="zhang@example.com",
            subject="还款提醒：贷款 L-1 第2期",
            body="您的贷款 L-1 第2期应还 1,020.00 CNY。还款参考号：PAY-L-1-2。",
            language="zh-CN",
        )
    )
    assert message_id == "<comm-7@postloan-crm>"
    assert box.envelopes == [("reminders@bank.test", ["zhang@example.com"])]
    (mail,) = box.messages
    assert mail["Subject"] == "还款提醒：贷款 L-1 第2期"
    assert "PAY-L-1-2" in mail.get_content()


async def test_smtp_server_down_is_a_retryable_error():
    sender = SmtpSender(host="127.0.0.1", port=free_port(), sender="x@bank.test", timeout_s=2)
    with pytest.raises(SendError) as caught:
        await sender.send(MESSAGE)
    assert caught.value.retryable


async def test_sms_is_received_and_a_500_is_retried_with_the_same_idempotency_key():
    async with Provider(statuses=[500, 200]) as provider:
        sender = WebhookSender(url=provider.url, token="tok", max_attempts=3, backoff_s=0.01)
        assert await sender.send(MESSAGE) == "msg-2"
    first, second = provider.requests
    assert first["headers"]["idempotency-key"] == second["headers"]["idempotency-key"] == "comm-1"
    assert second["headers"]["authorization"] == "Bearer tok"
    assert second["json"]["to"] == "+8613800138000"
    assert second["json"]["text"] == "还款提醒 1,020.00 CNY"


async def test_provider_always_failing_gives_up_after_max_attempts():
    async with Provider(statuses=[500, 502, 503, 200]) as provider:
        sender = WebhookSender(url=provider.url, max_attempts=3, backoff_s=0.01)
        with pytest.raises(SendError) as caught:
            await sender.send(MESSAGE)
    assert caught.value.retryable
    assert len(provider.requests) == 3


async def test_provider_rejecting_the_request_is_not_retried():
    async with Provider(statuses=[400]) as provider:
        sender = WebhookSender(url=provider.url, max_attempts=3, backoff_s=0.01)
        with pytest.raises(SendError) as caught:
            await sender.send(MESSAGE)
    assert not caught.value.retryable
    assert len(provider.requests) == 1


async def test_provider_timeout_is_retried():
    async with Provider(delay_s=0.5) as provider:
        sender = WebhookSender(url=provider.url, timeout_s=0.1, max_attempts=2, backoff_s=0.01)
        with pytest.raises(SendError) as caught:
            await sender.send(MESSAGE)
    assert caught.value.retryable
    assert "Timeout" in str(caught.value)


async def test_reminders_go_out_through_real_servers(crm, smtp_server):
    controller, box = smtp_server
    await crm.feed(
        customer("C-SMS"),
        customer("C-MAIL", preferred_channel=None, consents=[{"channel": "sms", "granted": False}]),
        topic="core-banking.customers",
    )
    await crm.feed(loan("L-S", "C-SMS"), due("L-S", "C-SMS"), loan("L-M", "C-MAIL"), due("L-M", "C-MAIL"))
    async with Provider(statuses=[500]) as provider:
        senders = {
            "sms": WebhookSender(url=provider.url, max_attempts=3, backoff_s=0.01),
            "email": SmtpSender(host="127.0.0.1", port=controller.port, sender="reminders@bank.test"),
        }
        report = await send_due(crm.sessions, senders=senders, now=crm.clock.now)
    assert report.sent == 2
    assert len(provider.requests) == 2  # the 500, then the retry that went through
    assert provider.requests[-1]["json"]["text"].count("PAY-L-S-2") == 1
    (mail,) = box.messages
    assert mail["To"] == "zhang@example.com"
    assert "PAY-L-M-2" in mail.get_content()
    rows = await crm.rows("SELECT customer_id, status, provider_message_id FROM communications ORDER BY customer_id")
    assert [(r["customer_id"], r["status"]) for r in rows] == [("C-MAIL", "sent"), ("C-SMS", "sent")]
    assert rows[1]["provider_message_id"] == "msg-2"
    assert len(await crm.events("reminder-sent")) == 2
