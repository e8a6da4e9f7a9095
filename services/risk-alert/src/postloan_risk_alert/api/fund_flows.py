"""Fund flows in (`POST /v1/fund-flows`): one flow or an array of up to 1,000, stored whole or refused whole."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ValidationError

from postloan_common.contracts import FundMovedV1
from postloan_common.web import DbSession, ProblemError, require_roles
from postloan_common.web.openapi import problems
from postloan_common.web.request_bodies import inlined_schema
from postloan_risk_alert.service.fund_flows import FlowConflict, ingest_flows

router = APIRouter(prefix="/v1", tags=["fund-use"])
Feeder = Depends(require_roles("system"))
MAX_FLOWS = 1000


class FundFlowsOut(BaseModel):
    """How many flows were stored now, and how many were already stored with the same content."""

    created: int
    unchanged: int


_FLOW_SCHEMA = inlined_schema(FundMovedV1)
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        _FLOW_SCHEMA,
                        {"type": "array", "items": _FLOW_SCHEMA, "minItems": 1, "maxItems": MAX_FLOWS},
                    ]
                },
                "example": {
                    "flow_id": "F-20260220-0001",
                    "loan_id": "L-1001",
                    "occurred_on": "2026-02-20",
                    "direction": "out",
                    "amount": "42000.00",
                    "currency": "CNY",
                    "counterparty": {
                        "name": "Shanghai Steel Supply Co.",
                        "account": "6222020200112233",
                        "kind": "supplier",
                    },
                    "category": "working_capital",
                    "channel": "online-banking",
                },
            }
        },
    }
}


def _reason(exc: ValidationError) -> str:
    # Field paths and messages only: the input values may carry personal data (counterparty names).
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)[:5]
    )


async def _flows(request: Request) -> list[FundMovedV1]:
    try:
        raw = json.loads(await request.body())
    except ValueError:
        raise ProblemError(422, "Invalid body", "Request body is not valid JSON") from None
    items = raw if isinstance(raw, list) else [raw]
    if not 1 <= len(items) <= MAX_FLOWS:
        raise ProblemError(422, "Invalid body", f"give one flow or an array of 1 to {MAX_FLOWS} flows")
    flows: list[FundMovedV1] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            flows.append(FundMovedV1.model_validate(item))
        except ValidationError as exc:
            errors.append({"index": index, "status": 422, "reason": _reason(exc)})
    if errors:
        raise _refused(422, errors)
    return flows


def _refused(status_code: int, errors: list[dict[str, Any]]) -> ProblemError:
    summary = "; ".join(f"[{e['index']}] {e['reason']}" for e in errors[:5])
    return ProblemError(
        status_code,
        "Fund flows refused",
        f"nothing was stored: {summary}",
        type_="/problems/fund-flows-refused",
        extra={"errors": errors},
    )


@router.post(
    "/fund-flows",
    response_model=FundFlowsOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Feeder],
    openapi_extra=_BODY,
    responses={200: {"model": FundFlowsOut, "description": "Every flow was already stored"}, **problems(404, 409, 422)},
)
async def post_fund_flows(request: Request, response: Response, session: DbSession) -> FundFlowsOut:
    """Store fund flows idempotently on flow_id; a refused item refuses the array (errors name each index)."""
    flows = await _flows(request)
    try:
        async with session.begin():
            result = await ingest_flows(session, flows=flows)
            if result.refusals:
                statuses = {r.status for r in result.refusals}
                code = statuses.pop() if len(statuses) == 1 else 422
                raise _refused(code, [r.as_dict() for r in result.refusals])
    except FlowConflict as exc:
        raise ProblemError(409, "Fund flow conflict", str(exc)) from None
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return FundFlowsOut(created=result.created, unchanged=result.unchanged)
