"""Restructurings: core banking's new schedule for a loan's open balance."""

from __future__ import annotations

from typing import Any, Self

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from postloan_common.web import CorrelationId, CurrentPrincipal, DbSession, require_roles
from postloan_common.web.openapi import problems
from postloan_repayment_monitor.api.deps import Buckets, ServiceConfig
from postloan_repayment_monitor.api.problems import refusal_problem
from postloan_repayment_monitor.api.results import RestructuringOut
from postloan_repayment_monitor.api.schemas import AnnualRate, Day, Id, InstallmentIn, PositiveAmount, TermsIn
from postloan_repayment_monitor.domain.ledger import Scheduled
from postloan_repayment_monitor.domain.refusal import Refusal
from postloan_repayment_monitor.service import audit
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.events import EventBuffer
from postloan_repayment_monitor.service.intake import Terms
from postloan_repayment_monitor.service.restructure import Restructure, restructure_loan

router = APIRouter(tags=["restructurings"])
Writer = Depends(require_roles("system", "admin"))


class RestructuringIn(BaseModel):
    """The fields of a `loan-restructured` event but `loan_id`, which is in the path."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "restructure_id": "RS-3001",
                    "restructured_on": "2026-06-01",
                    "reason": "hardship: income loss",
                    "outstanding_principal": "8000.00",
                    "annual_rate": "0.08",
                    "terms": {"method": "equal_principal", "months": 24, "first_due_date": "2026-07-01"},
                }
            ]
        },
    )

    restructure_id: Id
    restructured_on: Day
    reason: str = Field(min_length=1, max_length=500)
    outstanding_principal: PositiveAmount
    annual_rate: AnnualRate | None = None  # null: the contract rate stays
    installments: list[InstallmentIn] | None = Field(default=None, min_length=1, max_length=1200)
    terms: TermsIn | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> Self:
        if (self.installments is None) == (self.terms is None):
            raise ValueError("give exactly one of 'installments' and 'terms'")
        return self


def to_command(loan_id: str, body: RestructuringIn) -> Restructure:
    """The restructuring command of a POST /v1/loans/{loan_id}/restructurings body."""
    return Restructure(
        restructure_id=body.restructure_id,
        loan_id=loan_id,
        restructured_on=body.restructured_on,
        reason=body.reason,
        outstanding_principal=body.outstanding_principal,
        annual_rate=body.annual_rate,
        installments=tuple(Scheduled(i.seq, i.due_date, i.principal, i.interest, i.fee) for i in body.installments)
        if body.installments
        else None,
        terms=Terms(body.terms.method, body.terms.months, body.terms.first_due_date) if body.terms else None,
    )


@router.post(
    "/loans/{loan_id}/restructurings",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Writer],
    responses={
        **problems(401, 403, 404, 409, 422),
        200: {"description": "The same restructuring again: the answer it was first given", "model": RestructuringOut},
    },
    operation_id="restructureLoan",
    response_model=RestructuringOut,
)
async def restructure(
    loan_id: str,
    body: RestructuringIn,
    response: Response,
    session: DbSession,
    settings: ServiceConfig,
    buckets: Buckets,
    principal: CurrentPrincipal,
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Replace the loan's open installments by a new schedule; the same restructuring again returns the same answer."""
    async with session.begin():
        today = await business_date(session, initial=settings.first_business_date(), lock="share")
        events = EventBuffer(today, correlation_id=correlation_id)
        result = await restructure_loan(
            session,
            command=to_command(loan_id, body),
            business_date=today,
            events=events,
            buckets=buckets,
            weekend=settings.weekend(),
        )
        if isinstance(result, Refusal):
            raise refusal_problem(result)
        if result.duplicate:
            response.status_code = status.HTTP_200_OK
            return result.result
        await events.flush(session)
        await audit.record(
            session,
            actor=principal.subject,
            action="loan.restructure",
            subject=body.restructure_id,
            details={
                "loan_id": loan_id,
                "restructured_on": body.restructured_on.isoformat(),
                "outstanding_principal": str(body.outstanding_principal),
            },
            correlation_id=correlation_id,
        )
        return result.result
