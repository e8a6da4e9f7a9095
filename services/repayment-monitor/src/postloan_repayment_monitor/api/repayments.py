"""Repayments and reversals."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from postloan_repayment_monitor.api.deps import Writer
from postloan_repayment_monitor.api.problems import LOAN_WRITE, accepted
from postloan_repayment_monitor.api.results import RepaymentOut, ReversalOut
from postloan_repayment_monitor.api.schemas import RepaymentIn, ReversalIn
from postloan_repayment_monitor.api.writes import LoanWrite
from postloan_repayment_monitor.service import metrics
from postloan_repayment_monitor.service.repayments import (
    PostRepayment,
    post_repayments,
    reverse_repayment,
)

router = APIRouter(tags=["repayments"])


@router.post(
    "/loans/{loan_id}/repayments",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Writer],
    responses={
        **LOAN_WRITE,
        200: {"description": "The same repayment again: the answer it was first given", "model": RepaymentOut},
    },
    operation_id="postRepayment",
    response_model=RepaymentOut,
)
async def post_repayment(loan_id: str, body: RepaymentIn, write: LoanWrite) -> dict[str, Any]:
    """Post a repayment; returns its allocation. The same repayment again returns the same answer."""
    command = PostRepayment(body.repayment_id, loan_id, body.amount, body.value_date, body.channel, body.currency)
    async with write.transaction() as events:
        (result,) = await post_repayments(
            write.session, commands=[command], business_date=events.business_date, events=events, buckets=write.buckets
        )
        metrics.count_postings([result])
        posted = accepted(result)
        await write.settle(
            events,
            repeat=posted.duplicate,
            action="repayment.post",
            subject=body.repayment_id,
            details={"loan_id": loan_id, "amount": str(body.amount)},
        )
        return posted.result


@router.post(
    "/repayments/{repayment_id}/reversal",
    dependencies=[Writer],
    operation_id="reverseRepayment",
    responses=LOAN_WRITE,
    response_model=ReversalOut,
)
async def reverse(repayment_id: str, write: LoanWrite, body: ReversalIn | None = None) -> dict[str, Any]:
    """Reverse a repayment: the loan is recomputed as if it had never been made."""
    reason = body.reason if body else "reversed"
    async with write.transaction() as events:
        result = await reverse_repayment(
            write.session,
            repayment_id=repayment_id,
            reason=reason,
            business_date=events.business_date,
            events=events,
            buckets=write.buckets,
        )
        metrics.count_postings([result], reversal=True)
        reversed_ = accepted(result)
        # A reversal answers 200 either way: settle's 200 for a repeat changes nothing.
        await write.settle(
            events,
            repeat=reversed_.duplicate,
            action="repayment.reverse",
            subject=repayment_id,
            details={"reason": reason},
        )
        return reversed_.result
