"""The request of an idempotent write route: the locked business date, and the answer to a repeat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.web import DbSession
from postloan_repayment_monitor.api.deps import Buckets, Caller, CurrentCaller, ServiceConfig
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.events import EventBuffer
from postloan_repayment_monitor.settings import Settings


@dataclass(frozen=True)
class Write:
    """What a loan write works with: the session, settings, bucket scheme, caller and response of its request."""

    session: AsyncSession
    settings: Settings
    buckets: BucketScheme
    caller: Caller
    response: Response

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[EventBuffer]:
        """The write's transaction and its event buffer, at the business date share-locked against a close of day."""
        async with self.session.begin():
            today = await business_date(self.session, initial=self.settings.first_business_date(), lock="share")
            yield EventBuffer(today, correlation_id=self.caller.correlation_id)

    async def settle(
        self, events: EventBuffer, *, repeat: bool, action: str, subject: str, details: dict[str, Any]
    ) -> None:
        """A repeat of an earlier write answers 200 and records nothing; a new one writes its events and audit row."""
        if repeat:
            self.response.status_code = status.HTTP_200_OK
            return
        await events.flush(self.session)
        await self.caller.audit(self.session, action=action, subject=subject, details=details)


async def get_write(
    session: DbSession, settings: ServiceConfig, buckets: Buckets, caller: CurrentCaller, response: Response
) -> Write:
    """The write of this request."""
    return Write(session, settings, buckets, caller, response)


LoanWrite = Annotated[Write, Depends(get_write)]
