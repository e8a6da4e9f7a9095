"""Periodic assessments read back (`GET /v1/assessments`), with each ratio's change from the previous period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from postloan_common.web import DbSession, ProblemError, require_roles
from postloan_common.web.cursors import BadCursor, decode_cursor, encode_cursor
from postloan_common.web.openapi import Page, problems
from postloan_risk_alert.service import assessment_reads

AssessmentReader = Depends(require_roles("risk_officer", "analyst", "supervisor", "relationship_manager", "system"))
router = APIRouter(prefix="/v1", tags=["assessments"], dependencies=[AssessmentReader])


class AssessmentView(BaseModel):
    id: int
    customer_id: str
    period_end: date
    currency: str
    figures: dict[str, Decimal]
    ratios: dict[str, Decimal | None]
    previous_period_end: date | None = None
    changes: dict[str, Decimal | None]
    created_by: str


@router.get(
    "/assessments",
    response_model=Page[AssessmentView],
    responses=problems(400, 401, 403, 422),
)
async def list_assessments(
    session: DbSession,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Assessments, newest first, of one customer or all; paginated with a cursor."""
    after_id = None
    if cursor:
        (value,) = decode_cursor(cursor, size=1)
        if not isinstance(value, int):
            raise BadCursor()
        after_id = value
    items, last = await assessment_reads.page(session, customer_id=customer_id, after_id=after_id, limit=limit)
    return {"items": items, "next_cursor": encode_cursor([last]) if last is not None else None}


@router.get(
    "/assessments/{assessment_id}",
    response_model=AssessmentView,
    responses=problems(401, 403, 404, 422),
)
async def get_assessment(
    assessment_id: Annotated[int, Path(ge=1, le=2**63 - 1)],  # a BIGINT id
    session: DbSession,
) -> dict[str, Any]:
    """One assessment with its ratios and their change from the previous period."""
    found = await assessment_reads.one(session, assessment_id=assessment_id)
    if found is None:
        raise ProblemError(404, "Assessment not found", f"assessment {assessment_id} does not exist")
    return found
