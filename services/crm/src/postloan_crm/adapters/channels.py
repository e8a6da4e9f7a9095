"""Channel adapters: e-mail over SMTP, SMS and push through an HTTP provider webhook."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from postloan_common.logging import get_logger
from postloan_crm.adapters.webhook import RetryingWebhook, SendError, provider_webhook
from postloan_crm.settings import Settings

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to deliver; `key` makes a retried delivery recognisable to the provider."""

    key: str
    channel: str
    recipient: str
    subject: str | None
    body: str
    language: str


class ChannelSender(Protocol):
    async def send(self, message: Outgoing) -> str | None:
        """Deliver `message`; return the provider's message id when it gives one."""
        ...


class SmtpSender:
    """E-mail through an SMTP server."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        start_tls: bool = False,
        timeout_s: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.start_tls, self.timeout_s = start_tls, timeout_s

    async def send(self, message: Outgoing) -> str | None:
        """Send one e-mail; connection problems and 4xx replies are retryable, 5xx replies are not."""
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.recipient
        mail["Subject"] = message.subject or ""
        mail["Message-ID"] = f"<{message.key}@postloan-crm>"
        mail["Content-Language"] = message.language
        mail.set_content(message.body)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.start_tls,
                timeout=self.timeout_s,
            )
        except aiosmtplib.SMTPResponseException as exc:
            raise SendError(f"SMTP {exc.code}: {exc.message}", retryable=exc.code < 500) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise SendError(f"SMTP: {exc!r}", retryable=True) from exc
        return str(mail["Message-ID"])


class WebhookSender(RetryingWebhook):
    """SMS or push through a provider's HTTP webhook, with timeouts and retries on 5xx and timeouts."""

    async def send(self, message: Outgoing) -> str | None:
        """POST the message; the idempotency key lets the provider drop a retried duplicate."""
        payload = {
            "id": message.key,
            "channel": message.channel,
            "to": message.recipient,
            "text": message.body,
            "language": message.language,
        }
        if message.subject:
            payload["title"] = message.subject
        return await self.post(
            payload, key=message.key, detailed=True, retry_log="provider call failed, retrying", channel=message.channel
        )


def senders_from(settings: Settings) -> Mapping[str, ChannelSender]:
    """The channel adapters configured in `settings`."""
    return {
        "email": SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls=settings.smtp_start_tls,
            timeout_s=settings.smtp_timeout_s,
        ),
        "sms": provider_webhook(WebhookSender, settings.sms_webhook_url, settings),
        "app_push": provider_webhook(WebhookSender, settings.push_webhook_url, settings),
        "letter": provider_webhook(WebhookSender, settings.letter_webhook_url, settings),
    }
