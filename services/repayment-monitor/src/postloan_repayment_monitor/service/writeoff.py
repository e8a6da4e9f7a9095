"""Write-offs from core banking: the loan stops being monitored and is announced as closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import LoanClosedV1
from postloan_common.contracts.repayment import CloseReason
from postloan_repayment_monitor.service.events import EventBuffer
from postloan_repayment_monitor.store import loans as store


@dataclass(frozen=True)
class WriteOff:
    loan_id: str
    written_off_on: date
    reason: str


class WriteOffRefused(ValueError):
    """The write-off cannot be applied: unknown or closed loan, or a date outside the loan's life."""


async def write_off(session: AsyncSession, *, command: WriteOff, business_date: date, events: EventBuffer) -> bool:
    """Mark the loan written off and announce it; False when it already was (no second effect)."""
    row = await store.lock_for_close(session, loan_id=command.loan_id)
    if row is None:
        raise WriteOffRefused(f"loan {command.loan_id} is not known")
    if row.status == "written_off":
        return False
    if row.status != "active":
        raise WriteOffRefused(f"loan {command.loan_id} is {row.status}")
    if command.written_off_on > business_date:
        raise WriteOffRefused(f"written_off_on {command.written_off_on} is after the business date {business_date}")
    if command.written_off_on < row.disbursed_on:
        raise WriteOffRefused(
            f"written_off_on {command.written_off_on} is before the disbursement on {row.disbursed_on}"
        )
    await store.mark_written_off(session, loan_id=command.loan_id, on=command.written_off_on)
    events.add(
        LoanClosedV1(
            loan_id=command.loan_id,
            customer_id=row.customer_id,
            closed_on=command.written_off_on,
            reason=CloseReason.WRITTEN_OFF,
            credit_balance=row.credit_balance,
        ),
        loan_id=command.loan_id,
    )
    return True
