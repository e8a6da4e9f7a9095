"""Collateral (抵押物/质押物): register, revalue, allocate to loans (`/v1/collateral`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from postloan_common.web import CorrelationId, DbSession, Principal
from postloan_common.web.openapi import Page, problems
from postloan_common.web.request_bodies import request_body
from postloan_risk_alert.api.deps import Keeper, SupportReader
from postloan_risk_alert.api.writes import Audited, audit_write, problem, write_once
from postloan_risk_alert.service import collateral as service
from postloan_risk_alert.store import collateral as store

router = APIRouter(prefix="/v1", tags=["collateral"])

Kind = Literal["real_estate", "vehicle", "deposit", "securities", "equipment", "receivables", "other"]
PositiveMoney = Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)]


class CollateralIn(BaseModel):
    model_config = request_body(
        {
            "collateral_id": "COL-2001",
            "customer_id": "C-2001",
            "kind": "real_estate",
            "description": "Warehouse, 2,400 m², 18 Harbour Road, Ningbo",
            "value": "6500000.00",
            "currency": "CNY",
            "valued_on": "2026-05-20",
            "valuer": "Ningbo Appraisal Co.",
            "haircut": "0.3000",
            "lien_rank": 1,
            "insurance_expires_on": "2027-05-31",
        }
    )

    collateral_id: str = Field(min_length=1, max_length=64, pattern=r"^\S+$")
    customer_id: str = Field(min_length=1, max_length=64)
    kind: Kind
    description: str = Field(min_length=1, max_length=2000)
    value: PositiveMoney
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    valued_on: date
    valuer: str = Field(min_length=1, max_length=200)
    haircut: Decimal | None = Field(default=None, ge=0, lt=1, max_digits=6, decimal_places=4)
    lien_rank: int = Field(default=1, ge=1, le=99)
    insurance_expires_on: date | None = None


class ValuationIn(BaseModel):
    model_config = request_body({"value": "6100000.00", "valued_on": "2026-11-20", "valuer": "Ningbo Appraisal Co."})

    value: PositiveMoney
    valued_on: date
    valuer: str = Field(min_length=1, max_length=200)


class LinkIn(BaseModel):
    model_config = request_body({"loan_id": "L-2001", "allocated_value": "4000000.00"})

    loan_id: str = Field(min_length=1, max_length=64)
    allocated_value: PositiveMoney | None = None


class ValuationOut(BaseModel):
    valued_on: date
    value: Decimal
    valuer: str


class LinkOut(BaseModel):
    loan_id: str
    allocated_value: Decimal | None = None


class CollateralOut(BaseModel):
    collateral_id: str
    customer_id: str
    kind: Kind
    description: str
    value: Decimal
    currency: str
    valued_on: date
    valuer: str
    haircut: Decimal
    lien_rank: int
    insurance_expires_on: date | None = None
    value_after_haircut: Decimal
    valuations: list[ValuationOut]
    loans: list[LinkOut]


async def _write(
    session: DbSession,
    principal: Principal,
    correlation_id: str,
    response: Response,
    action: str,
    subject: str,
    call: Any,
    details: dict[str, Any],
) -> dict[str, Any]:
    audited = Audited(action, subject, details)
    return await write_once(
        session, call=call, response=response, principal=principal, correlation_id=correlation_id, audited=audited
    )


@router.post("/collateral", response_model=CollateralOut, status_code=201, responses=problems(401, 403, 404, 409, 422))
async def register_collateral(
    body: CollateralIn,
    response: Response,
    session: DbSession,
    principal: Annotated[Principal, Keeper],
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Register a collateral of a customer (the haircut defaults by kind)."""
    call = service.register(session, item=body.model_dump())
    details = {"kind": body.kind, "value": format(body.value, "f")}
    return await _write(
        session, principal, correlation_id, response, "collateral.create", body.collateral_id, call, details
    )


@router.get(
    "/collateral/{collateral_id}",
    response_model=CollateralOut,
    dependencies=[SupportReader],
    responses=problems(401, 403, 404),
)
async def get_collateral(collateral_id: str, session: DbSession) -> dict[str, Any]:
    """A collateral with its valuation history and the loans it secures."""
    try:
        return await service.view(session, collateral_id)
    except service.NotFound as exc:
        raise problem(exc) from exc


@router.get(
    "/collateral",
    response_model=Page[CollateralOut],
    dependencies=[SupportReader],
    responses=problems(401, 403, 422),
)
async def list_collateral(
    session: DbSession, customer_id: Annotated[str, Query(min_length=1, max_length=64)]
) -> dict[str, Any]:
    """A customer's collateral (one page: a customer has few)."""
    rows = await store.of_customer(session, customer_id)
    return {"items": [await service.view(session, r["collateral_id"]) for r in rows], "next_cursor": None}


@router.post(
    "/collateral/{collateral_id}/valuations",
    response_model=CollateralOut,
    status_code=201,
    responses=problems(401, 403, 404, 409, 422),
)
async def revalue_collateral(
    collateral_id: str,
    body: ValuationIn,
    response: Response,
    session: DbSession,
    principal: Annotated[Principal, Keeper],
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Record a new valuation; the history is kept."""
    call = service.revalue(
        session, collateral_id=collateral_id, value=body.value, valued_on=body.valued_on, valuer=body.valuer
    )
    details = {"value": format(body.value, "f"), "valued_on": body.valued_on.isoformat()}
    return await _write(
        session, principal, correlation_id, response, "collateral.revalue", collateral_id, call, details
    )


@router.post(
    "/collateral/{collateral_id}/loans",
    response_model=CollateralOut,
    status_code=201,
    responses=problems(401, 403, 404, 409, 422),
)
async def link_collateral(
    collateral_id: str,
    body: LinkIn,
    response: Response,
    session: DbSession,
    principal: Annotated[Principal, Keeper],
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Allocate the collateral (all of it, or `allocated_value`) to a loan."""
    call = service.link(
        session, collateral_id=collateral_id, loan_id=body.loan_id, allocated_value=body.allocated_value
    )
    details = {"loan_id": body.loan_id}
    return await _write(session, principal, correlation_id, response, "collateral.link", collateral_id, call, details)


@router.delete(
    "/collateral/{collateral_id}/loans/{loan_id}", response_model=CollateralOut, responses=problems(401, 403, 404)
)
async def unlink_collateral(
    collateral_id: str,
    loan_id: str,
    session: DbSession,
    principal: Annotated[Principal, Keeper],
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Release the collateral from a loan."""
    async with session.begin():
        try:
            result = await service.unlink(session, collateral_id=collateral_id, loan_id=loan_id)
        except service.NotFound as exc:
            raise problem(exc) from exc
        audited = Audited("collateral.unlink", collateral_id, {"loan_id": loan_id})
        await audit_write(session, principal, correlation_id, audited)
    return result
