"""Restructurings: core banking's new schedule for a loan's open balance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from postloan_repayment_monitor.api.deps import Writer
from postloan_repayment_monitor.api.problems import LOAN_WRITE, accepted
from postloan_repayment_monitor.api.results import RestructuringOut
from postloan_repayment_monitor.api.schemas import RestructuringIn
from postloan_repayment_monitor.api.writes import LoanWrite
from postloan_repayment_monitor.service.commands import restructure_command
from postloan_repayment_monitor.service.restructure import restructure_loan

router = APIRouter(tags=["restructurings"])


@router.post(
    "/loans/{loan_id}/restructurings",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Writer],
    responses={
        **LOAN_WRITE,
        200: {"description": "The same restructuring again: the answer it was first given", "model": RestructuringOut},
    },
    operation_id="restructureLoan",
    response_model=RestructuringOut,
)
async def restructure(loan_id: str, body: RestructuringIn, write: LoanWrite) -> dict[str, Any]:
    """Replace the loan's open installments by a new schedule; the same restructuring again returns the same answer."""
    async with write.transaction() as events:
        result = await restructure_loan(
            write.session,
            command=restructure_command(body, loan_id=loan_id),
            business_date=events.business_date,
            events=events,
            buckets=write.buckets,
            weekend=write.settings.weekend(),
        )
        restructured = accepted(result)
        await write.settle(
            events,
            repeat=restructured.duplicate,
            action="loan.restructure",
            subject=body.restructure_id,
            details={
                "loan_id": loan_id,
                "restructured_on": body.restructured_on.isoformat(),
                "outstanding_principal": str(body.outstanding_principal),
            },
        )
        return restructured.result
