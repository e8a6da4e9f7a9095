"""Post-loan reviews (贷后检查): when a loan is reviewed, how a review task moves, who may complete it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ReviewKind(StrEnum):
    FIRST = "first"  # 首次跟踪检查
    ROUTINE = "routine"  # 定期检查
    TRIGGERED = "triggered"


class ReviewStatus(StrEnum):
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"
    CANCELLED = "cancelled"


OPEN_STATUSES = (ReviewStatus.DUE, ReviewStatus.OVERDUE)


class Finding(StrEnum):
    OK = "ok"
    CONCERN = "concern"
    BREACH = "breach"


class Recommendation(StrEnum):
    MAINTAIN = "maintain"
    WATCH = "watch"
    RECLASSIFY = "reclassify"
    REDUCE_EXPOSURE = "reduce_exposure"
    RECALL = "recall"


CHECKLIST = ("repayment_source", "business_operation", "use_of_funds", "collateral", "guarantor", "other")
TRIGGERS = ("high_severity_alert", "classification_downgrade", "fund_use_flag", "collateral_breach", "review_breach")


class ReviewTerms(BaseModel):
    """When one product/segment is reviewed: days after disbursement, then every N days by classification."""

    model_config = ConfigDict(extra="forbid")

    first_after_days: int = Field(ge=0, le=3650)
    normal_every_days: int = Field(ge=1, le=3650)
    special_mention_every_days: int = Field(default=30, ge=1, le=3650)
    npl_every_days: int = Field(default=30, ge=1, le=3650)
    # A large exposure is reviewed at least this often (exposure as well as classification sets the pace).
    large_exposure: Decimal | None = Field(default=None, gt=0, max_digits=18, decimal_places=2)
    large_exposure_every_days: int | None = Field(default=None, ge=1, le=3650)


class TermsOverride(ReviewTerms):
    """Terms for one product (and optionally one segment) instead of the segment's defaults."""

    product: str = Field(min_length=1, max_length=64)
    segment: str | None = Field(default=None, pattern="^(retail|non_retail)$")


class ReviewPolicy(BaseModel):
    """The review policy: defaults per segment, overrides per product, the triggered-review delay."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "retail": {"first_after_days": 30, "normal_every_days": 180},
                    "non_retail": {
                        "first_after_days": 15,
                        "normal_every_days": 90,
                        "special_mention_every_days": 30,
                        "npl_every_days": 30,
                        "large_exposure": "10000000.00",
                        "large_exposure_every_days": 30,
                    },
                    "overrides": [
                        {
                            "product": "corp-loan",
                            "segment": "non_retail",
                            "first_after_days": 10,
                            "normal_every_days": 60,
                        }
                    ],
                    "triggered_after_business_days": 5,
                    "notice_days": 14,
                }
            ]
        },
    )

    retail: ReviewTerms = ReviewTerms(first_after_days=30, normal_every_days=180)
    non_retail: ReviewTerms = ReviewTerms(first_after_days=15, normal_every_days=90)
    overrides: list[TermsOverride] = Field(default_factory=list, max_length=500)
    triggered_after_business_days: int = Field(default=5, ge=0, le=60)
    # A task is created (and `review-due` published) this many days before it falls due.
    notice_days: int = Field(default=14, ge=0, le=365)


def segment_key(segment: str) -> str:
    """The policy segment of a loan's segment column: `retail`, anything else is `non_retail`."""
    return "retail" if segment == "retail" else "non_retail"


def terms_for(policy: ReviewPolicy, *, product: str, segment: str) -> ReviewTerms:
    """The terms of a product and segment: a product+segment override, then a product one, then the default."""
    key = segment_key(segment)
    for wanted in (key, None):
        for override in policy.overrides:
            if override.product == product and override.segment == wanted:
                return override
    return policy.retail if key == "retail" else policy.non_retail


def first_review_due(*, disbursed_on: date, terms: ReviewTerms) -> date:
    """The first review (首次跟踪检查) falls due a fixed number of days after disbursement."""
    return disbursed_on + timedelta(days=terms.first_after_days)


def routine_interval(*, classification: str, outstanding: Decimal, terms: ReviewTerms) -> int:
    """Days between routine reviews: by classification (NPL, special mention, normal), shortened for large exposures."""
    if classification in ("substandard", "doubtful", "loss"):
        days = terms.npl_every_days
    elif classification == "special_mention":
        days = terms.special_mention_every_days
    else:
        days = terms.normal_every_days
    if terms.large_exposure is not None and terms.large_exposure_every_days and outstanding >= terms.large_exposure:
        days = min(days, terms.large_exposure_every_days)
    return days


def add_business_days(start: date, days: int) -> date:
    """`days` business days (Monday to Friday) after `start`."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def triggered_due(*, business_date: date, policy: ReviewPolicy) -> date:
    """A triggered review falls due 5 business days (by policy) after the trigger."""
    return add_business_days(business_date, policy.triggered_after_business_days)


def status_on(*, status: str, due_on: date, business_date: date) -> ReviewStatus:
    """A due review becomes overdue once its due date has passed; other statuses stay."""
    if status == ReviewStatus.DUE and due_on < business_date:
        return ReviewStatus.OVERDUE
    return ReviewStatus(status)


def may_complete(*, actor: str, assignee: str | None, roles: frozenset[str]) -> bool:
    """Only the assignee, a supervisor or a risk officer (or an admin) completes a review."""
    if roles & {"supervisor", "risk_officer", "admin"}:
        return True
    return assignee is not None and actor == assignee


def worst_finding(findings: dict[str, Finding]) -> Finding:
    """The worst result of a checklist: breach over concern over ok."""
    order = [Finding.OK, Finding.CONCERN, Finding.BREACH]
    return max(findings.values(), key=order.index, default=Finding.OK)


def routine_interval_sql(*, category: str, outstanding: str, terms: str) -> str:
    """`routine_interval` as a SQL expression over a category, an outstanding and a row of terms columns."""
    by_class = (
        f"CASE WHEN {category} IN ('substandard', 'doubtful', 'loss') THEN {terms}.npl_every_days"
        f" WHEN {category} = 'special_mention' THEN {terms}.special_mention_every_days"
        f" ELSE {terms}.normal_every_days END"
    )
    large = (
        f"CASE WHEN {terms}.large_exposure IS NOT NULL AND {terms}.large_exposure_every_days IS NOT NULL"
        f" AND {outstanding} >= {terms}.large_exposure THEN {terms}.large_exposure_every_days END"
    )
    # least() ignores NULLs: no large-exposure term leaves the classification's interval.
    return f"least({by_class}, {large})"
