"""E-mail over SMTP for the scheduled reports (the standard library's client, in a thread)."""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


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
    """Send through an SMTP server; any failure raises (the caller records it and retries later)."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    start_tls: bool = False
    timeout_s: float = 10.0

    def _message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, ", ".join(mail.recipients), mail.subject
        message.set_content(mail.text)
        main, _, sub = mail.media_type.partition("/")
        message.add_attachment(mail.content, maintype=main, subtype=sub.split(";")[0], filename=mail.filename)
        return message

    def _send(self, mail: Mail) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.start_tls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(self._message(mail))

    async def send(self, mail: Mail) -> None:
        """Send `mail` (blocking I/O kept off the event loop)."""
        await asyncio.to_thread(self._send, mail)
