"""External signals (`POST /v1/external-signals`, `GET /v1/customers/{customer_id}/external-signals`)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, TypeAdapter, ValidationError

from postloan_common.contracts import ExternalSignalV1
from postloan_common.web import CorrelationId, DbSession, Principal, ProblemError, require_roles
from postloan_common.web.openapi import problems
from postloan_common.web.request_bodies import inlined_schema
from postloan_risk_alert.api.writes import Audited, audit_write
from postloan_risk_alert.service import external_signals as service

router = APIRouter(prefix="/v1", tags=["external-signals"])
Feeder = Depends(require_roles("system"))
SignalReader = Depends(require_roles("risk_officer", "relationship_manager", "analyst", "supervisor", "system"))
MAX_SIGNALS = 1000
_BATCH = TypeAdapter(list[ExternalSignalV1])

EXAMPLE = {
    "signal_id": "CJ-2026-000123",
    "subject": "customer",
    "subject_id": "C-2001",
    "source": "court-registry",
    "kind": "court_judgment",
    "severity": "high",
    "observed_on": "2026-03-02",
    "value": "250000.00",
    "details": {"case_id": "(2026)hu0101-123", "status": "open"},
}
_SCHEMA = inlined_schema(ExternalSignalV1)
_ONE_OR_MANY = {"oneOf": [_SCHEMA, {"type": "array", "items": _SCHEMA, "minItems": 1, "maxItems": MAX_SIGNALS}]}
_BODY = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": _ONE_OR_MANY, "example": EXAMPLE}}}
}


class SignalOut(BaseModel):
    """A stored signal; customer_id is who it is about (a loan's borrower; none for an industry)."""

    signal_id: str
    subject: str
    subject_id: str
    customer_id: str | None
    source: str
    kind: str
    severity: str
    observed_on: date
    value: Decimal | None
    details: dict[str, str | int | bool | None] | None


class SignalsStored(BaseModel):
    """How many signals were stored now, and every signal of the request as stored."""

    created: int
    unchanged: int
    signals: list[SignalOut]


class CustomerSignalsOut(BaseModel):
    """A customer's industry and its newest signals (at most 500): its own, its loans' and its industry's."""

    customer_id: str
    industry: str | None
    signals: list[SignalOut]


REFUSED = "/problems/external-signals-refused"


def _refused(status_code: int, errors: list[dict[str, Any]]) -> ProblemError:
    """The whole request refused; `errors` names each bad item by index, with its status and reason."""
    detail = "nothing was stored: " + "; ".join(f"[{e['index']}] {e['reason']}" for e in errors[:5])
    return ProblemError(status_code, "External signals refused", detail, type_=REFUSED, extra={"errors": errors})


def parse_signals(raw: object) -> list[ExternalSignalV1]:
    """One signal or an array of up to 1,000; any invalid item refuses them all, each named by its index."""
    items = raw if isinstance(raw, list) else [raw]
    if not 1 <= len(items) <= MAX_SIGNALS:
        raise ProblemError(422, "Invalid body", f"give one signal or an array of 1 to {MAX_SIGNALS} signals")
    try:
        return _BATCH.validate_python(items)
    except ValidationError as exc:
        reasons: dict[int, list[str]] = {}
        # Field paths and messages only: the values may carry personal data.
        for e in exc.errors(include_url=False):
            index, *path = e["loc"]
            reasons.setdefault(int(index), []).append(f"{'.'.join(map(str, path)) or 'body'}: {e['msg']}")
        errors = [{"index": i, "status": 422, "reason": "; ".join(r[:5])} for i, r in sorted(reasons.items())]
        raise _refused(422, errors) from None


@router.post(
    "/external-signals",
    response_model=SignalsStored,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_BODY,
    responses={
        200: {"model": SignalsStored, "description": "Every signal was already stored"},
        **problems(404, 409, 422),
    },
)
async def post_external_signals(
    request: Request,
    response: Response,
    session: DbSession,
    principal: Annotated[Principal, Feeder],
    correlation_id: CorrelationId,
) -> SignalsStored:
    """Store signals idempotently on signal_id; a refused item refuses the array (errors name each index)."""
    try:
        raw = json.loads(await request.body())
    except ValueError:
        raise ProblemError(422, "Invalid body", "Request body is not valid JSON") from None
    signals = parse_signals(raw)
    try:
        async with session.begin():
            result = await service.ingest_signals(session, signals=signals)
            if result.refusals:
                codes = {r.status for r in result.refusals}
                raise _refused(codes.pop() if len(codes) == 1 else 422, [asdict(r) for r in result.refusals])
            if result.created:
                ids = [s["signal_id"] for s in result.signals]
                audited = Audited("external_signals.ingest", ids[0], {"created": result.created, "signal_ids": ids})
                await audit_write(session, principal, correlation_id, audited)
    except service.SignalConflict as exc:
        raise ProblemError(409, "External signal conflict", str(exc)) from None
    if not result.created:
        response.status_code = status.HTTP_200_OK
    stored = [SignalOut.model_validate(s) for s in result.signals]
    return SignalsStored(created=result.created, unchanged=len(stored) - result.created, signals=stored)


@router.get(
    "/customers/{customer_id}/external-signals",
    response_model=CustomerSignalsOut,
    dependencies=[SignalReader],
    responses=problems(401, 403, 404),
)
async def customer_external_signals(customer_id: str, session: DbSession) -> dict[str, Any]:
    """The customer's industry and newest signals, those of its loans and industry included."""
    found = await service.customer_signals(session, customer_id=customer_id)
    if found is None:
        raise ProblemError(404, "Customer not found", f"customer {customer_id} is not known to risk-alert")
    return found
