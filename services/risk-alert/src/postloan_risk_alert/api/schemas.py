"""Request and response bodies of the risk-alert API (distinct from tables and events)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from postloan_common.contracts.common import Id, Money


class LoanRiskOut(BaseModel):
    loan_id: str
    customer_id: str
    score: int | None
    pd: Decimal | None
    grade: str | None
    reason_codes: list[str]
    model_version: str | None
    classification: str
    ifrs9_stage: int
    ecl: Decimal
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
    pd: Decimal | None
    grade: str | None
    reason_codes: list[str]
    model_version: str | None
    loan_count: int
    outstanding: Decimal
    npl_outstanding: Decimal
    max_dpd: int
    debt_ratio: Decimal | None
    current_ratio: Decimal | None
    interest_coverage: Decimal | None
    revenue_change: Decimal | None


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Id
    period_end: date
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    revenue: Money
    profit: Decimal = Field(max_digits=18, decimal_places=2)
    total_assets: Money
    total_liabilities: Money
    current_assets: Money
    current_liabilities: Money
    operating_cash_flow: Decimal = Field(max_digits=18, decimal_places=2)
    interest_expense: Money = Decimal(0)


class AssessmentOut(BaseModel):
    id: int
    customer_id: str
    period_end: date
    ratios: dict[str, Decimal | None]
    alerts_raised: int


Severity = Literal["low", "medium", "high", "critical"]


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    subject_type: Literal["loan", "customer"] = "loan"
    condition: dict[str, Any]
    severity: Severity = "medium"
    dedup_window_days: int = Field(7, ge=0, le=3650)
    auto_resolve: bool = True
    enabled: bool = True


class RuleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    subject_type: Literal["loan", "customer"] = "loan"
    condition: dict[str, Any]
    severity: Severity = "medium"
    dedup_window_days: int = Field(7, ge=0, le=3650)
    auto_resolve: bool = True
    enabled: bool = True


class RuleOut(BaseModel):
    rule_id: str
    name: str
    description: str
    subject_type: str
    condition: dict[str, Any]
    severity: str
    dedup_window_days: int
    auto_resolve: bool
    enabled: bool
    version: int
    updated_by: str | None
    updated_at: datetime


class RulesOut(BaseModel):
    items: list[RuleOut]


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
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=500)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
