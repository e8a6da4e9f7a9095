"""Scores, PD, classification and exposure of loans and customers (`/v1/risk`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from postloan_common.web import DbSession, ProblemError
from postloan_common.web.openapi import problems
from postloan_risk_alert.api.deps import Reader, ServiceConfig
from postloan_risk_alert.api.schemas import (
    CustomerRiskOut,
    LoanRiskOut,
)
from postloan_risk_alert.domain import classification as cls
from postloan_risk_alert.service import collateral as collateral_service
from postloan_risk_alert.store.proposals import judgement_in_force
from postloan_risk_alert.store.tables import (
    classifications,
    customer_features,
    customer_scores,
    loan_features,
    loan_scores,
)

router = APIRouter(prefix="/v1", tags=["risk"], dependencies=[Reader])


@router.get(
    "/risk/loans/{loan_id}",
    response_model=LoanRiskOut,
    operation_id="getLoanRisk",
    responses=problems(401, 403, 404),
)
async def loan_risk(loan_id: str, session: DbSession, settings: ServiceConfig) -> dict[str, Any]:
    """Score, PD, grade, reason codes, model version, classification, IFRS 9 stage and ECL of a loan."""
    row = (
        await session.execute(
            select(
                loan_features.c.loan_id,
                loan_features.c.customer_id,
                loan_features.c.dpd,
                loan_features.c.product,
                loan_features.c.collateral.label("collateral_type"),
                loan_features.c.outstanding,
                loan_scores.c.score,
                loan_scores.c.pd,
                loan_scores.c.grade,
                loan_scores.c.reason_codes,
                loan_scores.c.model_version,
                loan_scores.c.scored_on,
                classifications.c.category,
                classifications.c.ifrs9_stage,
                classifications.c.ecl,
                classifications.c.reason,
                classifications.c.in_observation,
            )
            .select_from(
                loan_features.outerjoin(loan_scores, loan_scores.c.loan_id == loan_features.c.loan_id).outerjoin(
                    classifications, classifications.c.loan_id == loan_features.c.loan_id
                )
            )
            .where(loan_features.c.loan_id == loan_id)
        )
    ).first()
    if row is None:
        raise ProblemError(404, "Loan not found", f"loan {loan_id} is not known to risk-alert")
    return {
        **row._mapping,
        "reason_codes": list(row.reason_codes or []),
        "classification": row.category or cls.PRESUMED_CATEGORY,
        "ifrs9_stage": row.ifrs9_stage or cls.PRESUMED_STAGE,
        "ecl": row.ecl if row.ecl is not None else 0,
        "classification_reason": row.reason,
        "in_observation": bool(row.in_observation),
        "classification_proposal_id": await judgement_in_force(session, loan_id) if row.reason == "judgement" else None,
        **await collateral_service.of_loan(
            session,
            product=row.product,
            collateral_type=row.collateral_type,
            outstanding=row.outstanding,
            loan_id=loan_id,
            settings=settings,
        ),
    }


@router.get(
    "/risk/customers/{customer_id}",
    response_model=CustomerRiskOut,
    operation_id="getCustomerRisk",
    responses=problems(401, 403, 404),
)
async def customer_risk(customer_id: str, session: DbSession) -> dict[str, Any]:
    """The customer's score (its riskiest loan's), exposure and latest assessment ratios."""
    row = (
        await session.execute(
            select(
                customer_features,
                customer_scores.c.score,
                customer_scores.c.pd,
                customer_scores.c.grade,
                customer_scores.c.reason_codes,
                customer_scores.c.model_version,
            )
            .select_from(
                customer_features.outerjoin(
                    customer_scores, customer_scores.c.customer_id == customer_features.c.customer_id
                )
            )
            .where(customer_features.c.customer_id == customer_id)
        )
    ).first()
    if row is None:
        raise ProblemError(404, "Customer not found", f"customer {customer_id} is not known to risk-alert")
    return {**row._mapping, "reason_codes": list(row.reason_codes or [])}
