"""Periodic financial assessments of non-retail customers (`/v1/assessments`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, status

from postloan_common.web import CorrelationId, DbSession, ProblemError
from postloan_common.web.openapi import problems
from postloan_risk_alert.api.deps import Assessor, ServiceConfig
from postloan_risk_alert.api.schemas import (
    AssessmentIn,
    AssessmentOut,
)
from postloan_risk_alert.api.writes import Audited, audit_write
from postloan_risk_alert.service import assessments as assessment_service

router = APIRouter(prefix="/v1", tags=["assessments"])


@router.post(
    "/assessments",
    response_model=AssessmentOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="createAssessment",
    responses=problems(401, 403, 409, 422),
)
async def post_assessment(
    body: AssessmentIn,
    session: DbSession,
    settings: ServiceConfig,
    principal: Annotated[Any, Assessor],
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Store a periodic assessment; its ratios feed customer rules (evaluated now) and the loans' scores."""
    figures = body.model_dump(include=set(assessment_service.FIGURES))
    async with session.begin():
        try:
            result = await assessment_service.submit(
                session,
                customer_id=body.customer_id,
                period_end=body.period_end,
                currency=body.currency,
                figures=figures,
                actor=principal.subject,
                settings=settings,
                correlation_id=correlation_id,
            )
        except assessment_service.DuplicateAssessment as exc:
            raise ProblemError(409, "Assessment exists", str(exc)) from exc
        audited = Audited("assessment.create", body.customer_id, {"period_end": body.period_end.isoformat()})
        await audit_write(session, principal, correlation_id, audited)
    return result
