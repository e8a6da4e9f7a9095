"""The collector of risk-alert's events: classifications (with ECL and stage), scores, alerts, reviews,
secured values."""

from __future__ import annotations

from pydantic import BaseModel

from postloan_common.contracts import risk
from postloan_common.messaging.envelope import Envelope
from postloan_reporting.domain.intervals import FactKind
from postloan_reporting.domain.model import class_rank
from postloan_reporting.service.ingest.changes import Changes, business_date
from postloan_reporting.store import upserts

# The risk events that change a loan's facts (and so its intervals).
FOLDING = risk.ClassificationChangedV1


def collect(changes: Changes, envelope: Envelope, data: BaseModel) -> None:
    """Add what one risk event writes to `changes`."""
    day = business_date(envelope)
    match data:
        case risk.ClassificationChangedV1():
            key = changes.touch(data.loan_id, day)
            changes.fact(envelope, key, FactKind.CLASSIFICATION, day, class_rank=class_rank(data.to_classification))
            changes.upsert(upserts.LOAN_ECL, (key, day, data.ifrs9_stage.value, data.ecl))
        case risk.CollateralCoverageChangedV1():
            changes.upsert(upserts.LOAN_SECURED, (changes.keys[data.loan_id], day, data.secured_value))
        case risk.RiskScoreChangedV1():
            row = (changes.keys[data.loan_id], data.score, data.pd, data.grade, data.model_version, day)
            changes.upsert(upserts.SCORE, row)
        case risk.RiskAlertRaisedV1():
            changes.upsert(
                upserts.ALERT_RAISED,
                (data.alert_id, data.rule_id, data.severity.value, data.subject_type.value, data.subject_id, day),
            )
        case risk.RiskAlertResolvedV1():
            changes.upsert(
                upserts.ALERT_RESOLVED,
                (data.alert_id, data.rule_id, data.subject_type.value, data.subject_id, day, data.resolution.value),
            )
        case risk.ReviewDueV1():
            key = changes.keys[data.loan_id]
            changes.upsert(upserts.REVIEW_DUE, (data.review_id, key, data.kind.value, data.reason, data.due_on, day))
        case risk.ReviewOverdueV1():
            key = changes.keys[data.loan_id]
            changes.upsert(upserts.REVIEW_OVERDUE, (data.review_id, key, data.kind.value, data.due_on, day))
        case risk.ReviewCompletedV1():
            done = (
                data.review_id,
                changes.keys[data.loan_id],
                data.kind.value,
                data.completed_on,
                data.worst_finding.value,
                data.recommendation.value,
            )
            changes.upsert(upserts.REVIEW_COMPLETED, done)
