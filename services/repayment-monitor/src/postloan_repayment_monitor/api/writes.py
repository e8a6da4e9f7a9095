"""The steps the idempotent write routes share: the locked business date, and the answer to a repeat."""

from __future__ import annotations

from typing import Any

from fastapi import Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_repayment_monitor.api.deps import Caller
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.events import EventBuffer
from postloan_repayment_monitor.settings import Settings


async def posting_events(session: AsyncSession, settings: Settings, caller: Caller) -> EventBuffer:
    """The event buffer of a write at the business date, share-locked so no close of day runs in between."""
    today = await business_date(session, initial=settings.first_business_date(), lock="share")
    return EventBuffer(today, correlation_id=caller.correlation_id)


async def settle(
    session: AsyncSession,
    *,
    repeat: bool,
    events: EventBuffer,
    response: Response,
    caller: Caller,
    action: str,
    subject: str,
    details: dict[str, Any],
) -> None:
    """A repeat of an earlier write answers 200 and records nothing; a new one writes its events and audit row."""
    if repeat:
        response.status_code = status.HTTP_200_OK
        return
    await events.flush(session)
    await caller.audit(session, action=action, subject=subject, details=details)
