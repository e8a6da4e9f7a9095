"""repayment.loans: day-closed (one at a time: it closes the promises and plans care of the day)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import DayClosedV1
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.parsing import parse_data
from postloan_crm.consumers.common import Clock, trace
from postloan_crm.domain.strategy import StrategyTable
from postloan_crm.service import dunning, projections, promises
from postloan_crm.service.calendar import note_business_date


class DayClosed:
    """Move crm's business date past the closed day, close its due promises, plan its care and dunning."""

    def __init__(self, strategy: StrategyTable, clock: Clock) -> None:
        self.strategy = strategy
        self.clock = clock

    async def __call__(self, session: AsyncSession, envelope: Envelope) -> None:
        event = parse_data(envelope, DayClosedV1)
        await note_business_date(session, business_date=event.business_date + timedelta(days=1))
        # Written to every partition: the first copy does the work, the others find nothing left to do.
        await promises.close_day(
            session, business_date=event.business_date, trace=trace(envelope), strategy=self.strategy
        )
        await projections.plan_care(session, business_date=event.business_date)
        # After the promises: one broken today lets dunning resume, one kept (paid) stops it.
        await dunning.plan_dunning(
            session,
            business_date=event.business_date,
            partition=event.partition,
            partitions=event.partitions,
            now=self.clock(),
        )
