"""Request and response models of the review routes (`/v1/review-policy`, `/v1/reviews`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from postloan_common.web.request_bodies import request_body
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
    model_config = request_body(
        {
            "findings": {
                "repayment_source": {"result": "ok", "note": "Salary and sales receipts cover instalments"},
                "business_operation": {"result": "concern", "note": "Orders down 20% on last quarter"},
                "use_of_funds": {"result": "ok", "note": "Invoices match the stated purchase of stock"},
                "collateral": {"result": "ok", "note": "Warehouse inspected; insurance in force"},
                "guarantor": {"result": "ok"},
                "other": {"result": "ok"},
            },
            "recommendation": "reclassify",
            "proposed_classification": "special_mention",
            "financials": {
                "period_end": "2026-06-30",
                "currency": "CNY",
                "revenue": "4100000.00",
                "profit": "120000.00",
                "total_assets": "8600000.00",
                "total_liabilities": "5400000.00",
                "current_assets": "2300000.00",
                "current_liabilities": "2000000.00",
                "operating_cash_flow": "180000.00",
                "interest_expense": "95000.00",
            },
            "documents": [
                {
                    "name": "site-visit-2026-07.pdf",
                    "media_type": "application/pdf",
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "size": 482133,
                }
            ],
        }
    )

    findings: Checklist
    recommendation: Recommendation
    # Required with `reclassify`: the classification the review proposes (a four-eyes proposal opens).
    proposed_classification: Literal["normal", "special_mention", "substandard", "doubtful", "loss"] | None = None
    financials: FinancialsIn | None = None
    documents: list[DocumentRef] = Field(default_factory=list, max_length=50)


class AssignIn(BaseModel):
    model_config = request_body({"assignee": "relationship-manager-7"})

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
