"""Request and response models of the review routes (`/v1/review-policy`, `/v1/reviews`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from postloan_risk_alert.domain.reviews import ReviewPolicy

Id = str
Money = Decimal
ReviewKind = Literal["first", "routine", "triggered"]
ReviewStatus = Literal["due", "overdue", "done", "cancelled"]
FindingResult = Literal["ok", "concern", "breach"]
Recommendation = Literal["maintain", "watch", "reclassify", "reduce_exposure", "recall"]


class PolicyOut(BaseModel):
    policy: ReviewPolicy
    version: int = Field(description="0 while the defaults have never been changed")


class FindingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: FindingResult
    note: str = Field(default="", max_length=2000)


class Checklist(BaseModel):
    """The post-loan checklist: each item ok, concern or breach, with a note."""

    model_config = ConfigDict(extra="forbid")

    repayment_source: FindingIn
    business_operation: FindingIn
    use_of_funds: FindingIn
    collateral: FindingIn
    guarantor: FindingIn
    other: FindingIn


class FinancialsIn(BaseModel):
    """Figures gathered during the review; they become the customer's assessment for `period_end`."""

    model_config = ConfigDict(extra="forbid")

    period_end: date
    currency: str = Field("CNY", pattern=r"^[A-Z]{3}$")
    revenue: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    profit: Decimal = Field(max_digits=18, decimal_places=2)
    total_assets: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    total_liabilities: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    current_assets: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    current_liabilities: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    operating_cash_flow: Decimal = Field(max_digits=18, decimal_places=2)
    interest_expense: Decimal = Field(Decimal(0), ge=0, max_digits=18, decimal_places=2)


class DocumentRef(BaseModel):
    """A document uploaded to `POST /v1/reviews/{review_id}/documents` first."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(min_length=3, max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1)


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    findings: Checklist
    recommendation: Recommendation
    # Required with `reclassify`: the classification the review proposes (a four-eyes proposal opens).
    proposed_classification: Literal["normal", "special_mention", "substandard", "doubtful", "loss"] | None = None
    financials: FinancialsIn | None = None
    documents: list[DocumentRef] = Field(default_factory=list, max_length=50)


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str = Field(min_length=1, max_length=200)


class DocumentOut(BaseModel):
    sha256: str
    name: str
    media_type: str
    size: int


class ReviewOut(BaseModel):
    review_id: Id
    loan_id: Id
    customer_id: Id
    kind: ReviewKind
    reason: str
    due_on: date
    status: ReviewStatus
    assignee: str | None = None
    created_on: date
    completed_on: date | None = None
    completed_by: str | None = None
    findings: Checklist | None = None
    recommendation: Recommendation | None = None
    documents: list[DocumentRef] = Field(default_factory=list)
    assessment_id: int | None = Field(default=None, description="The assessment the review's financials became")
    alert_id: str | None = Field(default=None, description="The alert a breach finding raised")
    proposal_id: str | None = Field(default=None, description="The classification proposal `reclassify` opened")
