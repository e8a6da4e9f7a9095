"""Request and response bodies of the risk-alert API (distinct from tables and events)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from postloan_common.contracts.common import Id, Money
from postloan_common.web.openapi import DecimalText
from postloan_common.web.request_bodies import request_body


class LoanRiskOut(BaseModel):
    loan_id: str
    customer_id: str
    score: int | None
    pd: DecimalText | None
    grade: str | None
    reason_codes: list[str]
    model_version: str | None
    classification: str
    ifrs9_stage: int
    ecl: DecimalText
    classification_reason: str | None
    # The approved classification proposal when `classification_reason` is "judgement".
    classification_proposal_id: str | None = None
    # Collateral after haircut allocated to the loan, ÷ exposure, exposure ÷ appraised, and the ECL's LGD.
    collateral_value: Decimal = Decimal(0)
    coverage: Decimal | None = None
    ltv: Decimal | None = None
    lgd: float | None = None
    in_observation: bool
    dpd: int
    scored_on: date | None


class CustomerRiskOut(BaseModel):
    customer_id: str
    segment: str
    score: int | None
    pd: DecimalText | None
    grade: str | None
    reason_codes: list[str]
    model_version: str | None
    loan_count: int
    outstanding: DecimalText
    npl_outstanding: DecimalText
    max_dpd: int
    debt_ratio: DecimalText | None
    current_ratio: DecimalText | None
    interest_coverage: DecimalText | None
    revenue_change: DecimalText | None


# The assessments table keeps amounts as NUMERIC(18, 2): a larger figure is a 422, not a database error.
MAX_AMOUNT = Decimal("9999999999999999.99")


def _fits_column(value: Decimal) -> Decimal:
    if abs(value) > MAX_AMOUNT:
        raise ValueError(f"must be at most {MAX_AMOUNT} in size")
    return value


Amount = Annotated[Money, AfterValidator(_fits_column)]


class AssessmentIn(BaseModel):
    model_config = request_body(
        {
            "customer_id": "C-2001",
            "period_end": "2026-06-30",
            "currency": "CNY",
            "revenue": "5200000.00",
            "profit": "310000.00",
            "total_assets": "8800000.00",
            "total_liabilities": "5100000.00",
            "current_assets": "2600000.00",
            "current_liabilities": "1900000.00",
            "operating_cash_flow": "420000.00",
            "interest_expense": "95000.00",
        }
    )

    customer_id: Id
    period_end: date
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    revenue: Amount
    profit: Decimal = Field(max_digits=18, decimal_places=2)
    total_assets: Amount
    total_liabilities: Amount
    current_assets: Amount
    current_liabilities: Amount
    operating_cash_flow: Decimal = Field(max_digits=18, decimal_places=2)
    interest_expense: Amount = Decimal(0)


class AssessmentOut(BaseModel):
    id: int
    customer_id: str
    period_end: date
    ratios: dict[str, DecimalText | None]
    alerts_raised: int


Severity = Literal["low", "medium", "high", "critical"]


# The example rule of the request bodies: grade E loans that are overdue.
EXAMPLE_CONDITION = {
    "all": [
        {"feature": "grade", "op": "in", "value": ["E"]},
        {"feature": "dpd", "op": ">", "value": 0},
    ]
}


# A rule's definition, everything but its id (no docstring: it would become the schema's description).
class RuleUpdate(BaseModel):
    model_config = request_body(
        {"name": "Grade E and overdue", "condition": EXAMPLE_CONDITION, "severity": "critical", "enabled": True}
    )

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    subject_type: Literal["loan", "customer"] = "loan"
    condition: dict[str, Any]
    # Hysteresis: an open alert auto-resolves only once this condition holds too (none: once `condition` stops).
    resolve_condition: dict[str, Any] | None = None
    severity: Severity = "medium"
    dedup_window_days: int = Field(7, ge=0, le=3650)
    auto_resolve: bool = True
    enabled: bool = True


class _RuleKey(BaseModel):
    rule_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")


# A new rule: its id and its definition. pydantic orders fields from the last base to the first, so
# `rule_id` stays the first field of the body.
class RuleIn(RuleUpdate, _RuleKey):
    model_config = request_body(
        {
            "rule_id": "grade-e-and-overdue",
            "name": "Grade E and overdue",
            "condition": EXAMPLE_CONDITION,
            "severity": "high",
        }
    )


class RuleOut(BaseModel):
    rule_id: str
    name: str
    description: str
    subject_type: str
    condition: dict[str, Any]
    resolve_condition: dict[str, Any] | None
    severity: str
    dedup_window_days: int
    auto_resolve: bool
    enabled: bool
    version: int
    updated_by: str | None
    updated_at: datetime


class RulesOut(BaseModel):
    items: list[RuleOut]
    next_cursor: str | None = None  # the shared page shape; every item fits one page


class AlertHistoryOut(BaseModel):
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    assignee: str | None
    note: str | None


class AlertOut(BaseModel):
    alert_id: str
    rule_id: str
    subject_type: str
    subject_id: str
    customer_id: str | None
    severity: str
    status: str
    message: str
    assignee: str | None
    raised_on: date | None
    raised_at: datetime
    closed_at: datetime | None
    history: list[AlertHistoryOut] = []


class AlertsOut(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


class AlertActionIn(BaseModel):
    model_config = request_body({"note": "Called the customer; repayment plan agreed"})

    note: str | None = Field(None, max_length=500)


class AssignIn(BaseModel):
    model_config = request_body({"assignee": "risk-officer-3", "note": "Corporate book"})

    assignee: str = Field(min_length=1, max_length=200)
    note: str | None = Field(None, max_length=500)


class ModelOut(BaseModel):
    version: str
    status: str
    auc: float | None
    ks: float | None
    gini: float | None
    created_at: datetime
    promoted_at: datetime | None


class ModelsOut(BaseModel):
    items: list[ModelOut]
    next_cursor: str | None = None  # the shared page shape; every item fits one page


class PerformanceOut(BaseModel):
    version: str
    status: str
    training_auc: float | None
    training_ks: float | None
    training_gini: float | None
    auc: float | None = Field(description="on labelled own history (90+ DPD within 12 months), when there is any")
    ks: float | None
    labelled_rows: int
    evaluated_at: datetime | None = Field(None, description="when auc/ks were last computed (training, month end)")
    psi: float | None = Field(description="current scores of this version against its training distribution")
    scored_loans: int
    calibration: list[dict[str, float]]
