"""Events of risk-alert on `risk.scores` (key: loan id; a customer-level alert is keyed by customer id)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from postloan_common.contracts.common import (
    Classification,
    Code,
    Currency,
    Dpd,
    EventData,
    Id,
    Ifrs9Stage,
    LoanEvent,
    Money,
    Probability,
    Severity,
    SubjectType,
    Text,
)

Score = Annotated[int, Field(ge=0, le=1000)]
Grade = Annotated[str, StringConstraints(min_length=1, max_length=8)]


class RiskScoreChangedV1(LoanEvent):
    """The behavioural score of a loan changed; `reason_codes` are the features that pushed it most."""

    event_type: ClassVar[str] = "risk-score-changed"
    event_version: ClassVar[int] = 1

    score: Score
    pd: Probability
    grade: Grade
    previous_score: Score | None = None
    previous_grade: Grade | None = None
    model_version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    reason_codes: tuple[Code, ...] = ()


class ClassificationChangedV1(LoanEvent):
    """The five-category classification and/or the IFRS 9 stage of a loan changed."""

    event_type: ClassVar[str] = "classification-changed"
    event_version: ClassVar[int] = 1

    from_classification: Classification | None = None  # None on the first classification
    to_classification: Classification
    previous_ifrs9_stage: Ifrs9Stage | None = None
    ifrs9_stage: Ifrs9Stage
    ecl: Money
    dpd: Dpd
    reason: Code  # e.g. dpd_floor, restructured_observation, debtor_npl_contagion, judgement


class RiskAlertRaisedV1(EventData):
    """An early-warning rule fired for a loan or customer (one open alert per rule and subject)."""

    event_type: ClassVar[str] = "risk-alert-raised"
    event_version: ClassVar[int] = 1

    alert_id: Id
    rule_id: Id
    severity: Severity
    subject_type: SubjectType
    subject_id: Id
    customer_id: Id | None = None
    message: Text


class AlertResolution(StrEnum):
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class RiskAlertResolvedV1(EventData):
    """An alert was closed: resolved or dismissed."""

    event_type: ClassVar[str] = "risk-alert-resolved"
    event_version: ClassVar[int] = 1

    alert_id: Id
    rule_id: Id
    subject_type: SubjectType
    subject_id: Id
    resolution: AlertResolution
    resolved_by: Id | None = None
    note: Text | None = None


class ReviewKind(StrEnum):
    FIRST = "first"
    ROUTINE = "routine"
    TRIGGERED = "triggered"


class ReviewDueV1(EventData):
    """A post-loan review (贷后检查) of a loan was scheduled: it falls due on `due_on`."""

    event_type: ClassVar[str] = "review-due"
    event_version: ClassVar[int] = 1

    review_id: Id
    loan_id: Id
    customer_id: Id
    kind: ReviewKind
    reason: Code  # first_review, routine_<classification>, or the trigger (high_severity_alert, ...)
    due_on: date
    assignee: Text | None = None


class ReviewOverdueV1(EventData):
    """A review's due date passed without it being completed."""

    event_type: ClassVar[str] = "review-overdue"
    event_version: ClassVar[int] = 1

    review_id: Id
    loan_id: Id
    customer_id: Id
    kind: ReviewKind
    due_on: date
    assignee: Text | None = None


class ReviewFinding(StrEnum):
    OK = "ok"
    CONCERN = "concern"
    BREACH = "breach"


class ReviewRecommendation(StrEnum):
    MAINTAIN = "maintain"
    WATCH = "watch"
    RECLASSIFY = "reclassify"
    REDUCE_EXPOSURE = "reduce_exposure"
    RECALL = "recall"


class ReviewCompletedV1(EventData):
    """A review was completed: the worst finding of its checklist and the recommendation."""

    event_type: ClassVar[str] = "review-completed"
    event_version: ClassVar[int] = 1

    review_id: Id
    loan_id: Id
    customer_id: Id
    kind: ReviewKind
    completed_on: date
    completed_by: Text
    worst_finding: ReviewFinding
    recommendation: ReviewRecommendation
    alert_id: Id | None = None  # the alert a breach finding raised


class GuaranteeKind(StrEnum):
    PERSONAL = "personal"
    CORPORATE = "corporate"
    JOINT_AND_SEVERAL = "joint_and_several"


class GuaranteeRegisteredV1(EventData):
    """A guarantee (担保) of a loan was registered: the guarantor is a liable party of the debt."""

    event_type: ClassVar[str] = "guarantee-registered"
    event_version: ClassVar[int] = 1

    guarantee_id: Id
    loan_id: Id
    customer_id: Id  # the borrower
    guarantor_customer_id: Id
    kind: GuaranteeKind
    amount: Money
    valid_until: date


class CollateralCoverageChangedV1(LoanEvent):
    """The loan's secured value changed: its collateral's value after haircut allocated to it (0: none left).

    Emitted by the close of day when the value differs from the last one emitted for the loan.
    """

    event_type: ClassVar[str] = "collateral-coverage-changed"
    event_version: ClassVar[int] = 1

    secured_value: Money
    currency: Currency


EVENTS: tuple[type[EventData], ...] = (
    RiskScoreChangedV1,
    ClassificationChangedV1,
    RiskAlertRaisedV1,
    RiskAlertResolvedV1,
    ReviewDueV1,
    ReviewOverdueV1,
    ReviewCompletedV1,
    GuaranteeRegisteredV1,
    CollateralCoverageChangedV1,
)
