"""Write-offs from core banking: the loan stops being monitored and is announced as closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import LoanClosedV1
from postloan_common.contracts.repayment import CloseReason
from postloan_repayment_monitor.domain.refusal import Refusal
from postloan_repayment_monitor.service.events import EventBuffer
from postloan_repayment_monitor.store import loans as store


@dataclass(frozen=True)
class WriteOff:
    loan_id: str
    written_off_on: date
    reason: str


class WriteOffCode(StrEnum):
    UNKNOWN_LOAN = "unknown_loan"
    LOAN_CLOSED = "loan_closed"
    DATE_IN_FUTURE = "written_off_on_in_future"
    DATE_BEFORE_DISBURSEMENT = "written_off_on_before_disbursement"


async def write_off(
    session: AsyncSession, *, command: WriteOff, business_date: date, events: EventBuffer
) -> bool | Refusal:
    """Mark the loan written off and announce it; False when it already was (no second effect), or the refusal."""
    row = await store.lock_for_close(session, loan_id=command.loan_id)
    if row is None:
        return Refusal(WriteOffCode.UNKNOWN_LOAN, f"loan {command.loan_id} is not known")
    if row.status == "written_off":
        return False
    if row.status != "active":
        return Refusal(WriteOffCode.LOAN_CLOSED, f"loan {command.loan_id} is {row.status}")
    if command.written_off_on > business_date:
        return Refusal(
            WriteOffCode.DATE_IN_FUTURE,
            f"written_off_on {command.written_off_on} is after the business date {business_date}",
        )
    if command.written_off_on < row.disbursed_on:
        return Refusal(
            WriteOffCode.DATE_BEFORE_DISBURSEMENT,
            f"written_off_on {command.written_off_on} is before the disbursement on {row.disbursed_on}",
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
