"""Scores, PD, classification and exposure of loans and customers (`/v1/risk`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from postloan_common.web import DbSession, ProblemError
from postloan_common.web.openapi import problems
from postloan_risk_alert.api.deps import Reader, ServiceConfig
from postloan_risk_alert.api.schemas import (
    CustomerRiskOut,
    LoanRiskOut,
)
from postloan_risk_alert.domain import classification as cls
from postloan_risk_alert.service import collateral as collateral_service
from postloan_risk_alert.store import risk_reads
from postloan_risk_alert.store.proposals import judgement_in_force

router = APIRouter(prefix="/v1", tags=["risk"], dependencies=[Reader])


@router.get(
    "/risk/loans/{loan_id}",
    response_model=LoanRiskOut,
    operation_id="getLoanRisk",
    responses=problems(401, 403, 404),
)
async def loan_risk(loan_id: str, session: DbSession, settings: ServiceConfig) -> dict[str, Any]:
    """Score, PD, grade, reason codes, model version, classification, IFRS 9 stage and ECL of a loan."""
    row = await risk_reads.loan_risk(session, loan_id)
    if row is None:
        raise ProblemError(404, "Loan not found", f"loan {loan_id} is not known to risk-alert")
    judgement = await judgement_in_force(session, loan_id) if row["reason"] == "judgement" else None
    return {
        **row,
        "reason_codes": list(row["reason_codes"] or []),
        "classification": row["category"] or cls.PRESUMED_CATEGORY,
        "ifrs9_stage": row["ifrs9_stage"] or cls.PRESUMED_STAGE,
        "ecl": row["ecl"] if row["ecl"] is not None else 0,
        "classification_reason": row["reason"],
        "in_observation": bool(row["in_observation"]),
        "classification_proposal_id": judgement,
        **await collateral_service.of_loan(
            session,
            product=row["product"],
            collateral_type=row["collateral_type"],
            outstanding=row["outstanding"],
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
    row = await risk_reads.customer_risk(session, customer_id)
    if row is None:
        raise ProblemError(404, "Customer not found", f"customer {customer_id} is not known to risk-alert")
    return {**row, "reason_codes": list(row["reason_codes"] or [])}
