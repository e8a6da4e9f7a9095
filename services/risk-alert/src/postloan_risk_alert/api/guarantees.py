"""Guarantees (担保) of loans (`/v1/guarantees`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from postloan_common.web import CorrelationId, DbSession, Principal, ProblemError
from postloan_common.web.openapi import Page, problems
from postloan_common.web.request_bodies import request_body
from postloan_risk_alert.api.deps import Keeper, SupportReader
from postloan_risk_alert.api.writes import Audited, Titles, write_once
from postloan_risk_alert.service import guarantees as service

router = APIRouter(prefix="/v1", tags=["guarantees"])

Kind = Literal["personal", "corporate", "joint_and_several"]


class GuaranteeIn(BaseModel):
    model_config = request_body(
        {
            "guarantee_id": "G-2001",
            "loan_id": "L-2001",
            "guarantor_customer_id": "C-2002",
            "kind": "corporate",
            "amount": "2000000.00",
            "valid_until": "2028-05-01",
        }
    )

    guarantee_id: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    loan_id: str = Field(min_length=1, max_length=64)
    guarantor_customer_id: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    kind: Kind
    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=2)
    valid_until: date


class GuaranteeOut(BaseModel):
    guarantee_id: str
    loan_id: str
    customer_id: str
    guarantor_customer_id: str
    kind: Kind
    amount: Decimal
    valid_until: date


@router.post("/guarantees", response_model=GuaranteeOut, status_code=201, responses=problems(401, 403, 404, 409, 422))
async def register_guarantee(
    body: GuaranteeIn,
    response: Response,
    session: DbSession,
    principal: Annotated[Principal, Keeper],
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Register a guarantee of an open loan; crm learns it from `guarantee-registered`."""
    return await write_once(
        session,
        call=service.register(session, item=body.model_dump(), correlation_id=correlation_id),
        response=response,
        principal=principal,
        correlation_id=correlation_id,
        audited=Audited(
            "guarantee.create",
            body.guarantee_id,
            {"loan_id": body.loan_id, "guarantor_customer_id": body.guarantor_customer_id},
        ),
        titles=Titles(not_found="Loan not found", conflict="Guarantee exists", invalid="Invalid guarantee"),
    )


@router.get(
    "/guarantees", response_model=Page[GuaranteeOut], dependencies=[SupportReader], responses=problems(401, 403, 422)
)
async def list_guarantees(
    session: DbSession,
    loan_id: Annotated[str | None, Query(max_length=64)] = None,
    guarantor_customer_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """The guarantees of a loan or given by a guarantor (one of the two is required)."""
    if (loan_id is None) == (guarantor_customer_id is None):
        raise ProblemError(
            422,
            "One filter",
            "give exactly one of loan_id and guarantor_customer_id",
            extra={"errors": [{"field": "query.loan_id", "message": "give loan_id or guarantor_customer_id"}]},
        )
    items = await service.listed(session, loan_id=loan_id, guarantor_customer_id=guarantor_customer_id)
    return {"items": items, "next_cursor": None}
