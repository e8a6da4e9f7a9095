"""E-mail over SMTP for the scheduled reports (the standard library's client, in a thread)."""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from pydantic import SecretStr


@dataclass(frozen=True, slots=True)
class Mail:
    recipients: tuple[str, ...]
    subject: str
    text: str
    filename: str
    content: bytes
    media_type: str  # e.g. application/pdf


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None: ...


@dataclass(frozen=True, slots=True)
class SmtpMailer:
    """Send through an SMTP server; any failure raises (the caller records it and retries later).

    Named as the service's `smtp_*` settings, so the worker builds it from them by name.
    """

    smtp_host: str
    smtp_port: int
    smtp_from: str
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_start_tls: bool = False
    smtp_timeout_s: float = 10.0

    def _message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.smtp_from, ", ".join(mail.recipients), mail.subject
        message.set_content(mail.text)
        main, _, sub = mail.media_type.partition("/")
        message.add_attachment(mail.content, maintype=main, subtype=sub.split(";")[0], filename=mail.filename)
        return message

    def _send(self, mail: Mail) -> None:
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=self.smtp_timeout_s) as smtp:
            if self.smtp_start_tls:
                smtp.starttls()
            if self.smtp_username:
                password = self.smtp_password.get_secret_value() if self.smtp_password else ""
                smtp.login(self.smtp_username, password)
            smtp.send_message(self._message(mail))

    async def send(self, mail: Mail) -> None:
        """Send `mail` (blocking I/O kept off the event loop)."""
        await asyncio.to_thread(self._send, mail)
