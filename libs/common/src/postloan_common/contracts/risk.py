"""Events of risk-alert on `risk.scores` (key: loan id; a customer-level alert is keyed by customer id)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from postloan_common.contracts.common import (
    Classification,
    Code,
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


EVENTS: tuple[type[EventData], ...] = (
    RiskScoreChangedV1,
    ClassificationChangedV1,
    RiskAlertRaisedV1,
    RiskAlertResolvedV1,
)
