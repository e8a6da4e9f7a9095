"""The risk-alert REST API (`/v1`)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any, cast

import numpy as np
from fastapi import APIRouter, Depends, Query, Request, status
from prometheus_client import Gauge
from sqlalchemy import and_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from postloan_common.web import CorrelationId, DbSession, ProblemError, require_roles
from risk_alert.api.schemas import (
    AlertActionIn,
    AlertOut,
    AlertsOut,
    AssessmentIn,
    AssessmentOut,
    AssignIn,
    CustomerRiskOut,
    LoanRiskOut,
    ModelsOut,
    PerformanceOut,
    RuleIn,
    RuleOut,
    RulesOut,
    RuleUpdate,
)
from risk_alert.domain import rules as rule_language
from risk_alert.domain import training
from risk_alert.domain.alerts import AlertAction, TransitionError
from risk_alert.service import alerts as alert_service
from risk_alert.service import assessments as assessment_service
from risk_alert.service import audit, history, models
from risk_alert.settings import Settings
from risk_alert.store.tables import (
    alerts,
    classifications,
    customer_features,
    customer_scores,
    loan_features,
    loan_scores,
    rules,
)

router = APIRouter(prefix="/v1")
Reader = Depends(require_roles("risk_officer", "analyst", "supervisor", "collector", "system"))
Officer = Depends(require_roles("risk_officer"))
Assessor = Depends(require_roles("risk_officer", "system"))

MODEL_AUC = Gauge("risk_model_auc", "AUC of a model version on labelled own history", ["version"])
MODEL_KS = Gauge("risk_model_ks", "KS of a model version on labelled own history", ["version"])
MODEL_PSI = Gauge("risk_model_psi", "PSI of current scores against a model version's training scores", ["version"])


def get_settings(request: Request) -> Settings:
    """The service settings the app was built with."""
    return cast(Settings, request.app.state.settings)


ServiceConfig = Annotated[Settings, Depends(get_settings)]


@router.get("/risk/loans/{loan_id}", response_model=LoanRiskOut, tags=["risk"], dependencies=[Reader])
async def loan_risk(loan_id: str, session: DbSession) -> dict[str, Any]:
    """Score, PD, grade, reason codes, model version, classification, IFRS 9 stage and ECL of a loan."""
    row = (
        await session.execute(
            select(
                loan_features.c.loan_id,
                loan_features.c.customer_id,
                loan_features.c.dpd,
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
    # A loan not yet classified is presumed performing (normal, stage 1) until its first close of day.
    return {
        **row._mapping,
        "reason_codes": list(row.reason_codes or []),
        "classification": row.category or "normal",
        "ifrs9_stage": row.ifrs9_stage or 1,
        "ecl": row.ecl if row.ecl is not None else 0,
        "classification_reason": row.reason,
        "in_observation": bool(row.in_observation),
    }


@router.get("/risk/customers/{customer_id}", response_model=CustomerRiskOut, tags=["risk"], dependencies=[Reader])
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


@router.post(
    "/assessments",
    response_model=AssessmentOut,
    status_code=status.HTTP_201_CREATED,
    tags=["assessments"],
)
async def post_assessment(
    body: AssessmentIn,
    session: DbSession,
    settings: ServiceConfig,
    principal: Annotated[Any, Assessor],
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Store a periodic assessment; its ratios feed customer rules (evaluated now) and the loans' scores."""
    figures = body.model_dump(include=set(assessment_service.FIGURES))
    async with session.begin():
        try:
            result = await assessment_service.submit(
                session,
                customer_id=body.customer_id,
                period_end=body.period_end,
                currency=body.currency,
                figures=figures,
                actor=principal.subject,
                settings=settings,
                correlation_id=correlation_id,
            )
        except assessment_service.DuplicateAssessment as exc:
            raise ProblemError(409, "Assessment exists", str(exc)) from exc
        await audit.record(
            session,
            actor=principal.subject,
            action="assessment.create",
            subject=body.customer_id,
            details={"period_end": body.period_end.isoformat()},
            correlation_id=correlation_id,
        )
    return result


def _invalid_rule(errors: list[rule_language.RuleError]) -> ProblemError:
    # Paths are given from the request body's root, where the condition sits under `condition`.
    located = [
        {"path": e.path if e.path == "$.subject_type" else e.path.replace("$", "$.condition", 1), "message": e.message}
        for e in errors
    ]
    summary = "; ".join(f"{e['path']}: {e['message']}" for e in located[:5])
    return ProblemError(
        422,
        "Invalid rule",
        f"The rule condition is invalid: {summary}",
        type_="/problems/invalid-rule",
        extra={"errors": located},
    )


def _check_rule(condition: dict[str, Any], subject_type: str) -> None:
    errors = rule_language.validate(condition, subject_type=subject_type)
    if errors:
        raise _invalid_rule(errors)


@router.get("/rules", response_model=RulesOut, tags=["rules"], dependencies=[Reader])
async def list_rules(session: DbSession) -> dict[str, Any]:
    """Every early-warning rule."""
    rows = await session.execute(select(rules).order_by(rules.c.rule_id))
    return {"items": [dict(r._mapping) for r in rows]}


@router.get("/rules/{rule_id}", response_model=RuleOut, tags=["rules"], dependencies=[Reader])
async def get_rule(rule_id: str, session: DbSession) -> dict[str, Any]:
    """One rule."""
    row = (await session.execute(select(rules).where(rules.c.rule_id == rule_id))).first()
    if row is None:
        raise ProblemError(404, "Rule not found", f"rule {rule_id} does not exist")
    return dict(row._mapping)


@router.post("/rules", response_model=RuleOut, status_code=status.HTTP_201_CREATED, tags=["rules"])
async def create_rule(
    body: RuleIn, session: DbSession, principal: Annotated[Any, Officer], correlation_id: CorrelationId
) -> dict[str, Any]:
    """Create a rule; a condition that does not validate is a 422 naming the JSON path of each error."""
    _check_rule(body.condition, body.subject_type)
    async with session.begin():
        created = (
            await session.execute(
                insert(rules)
                .values(**body.model_dump(), updated_by=principal.subject)
                .on_conflict_do_nothing()
                .returning(*rules.c)
            )
        ).first()
        if created is None:
            raise ProblemError(409, "Rule exists", f"rule {body.rule_id} already exists; PUT to change it")
        await audit.record(
            session,
            actor=principal.subject,
            action="rule.create",
            subject=body.rule_id,
            details={"condition": body.condition},
            correlation_id=correlation_id,
        )
    return dict(created._mapping)


@router.put("/rules/{rule_id}", response_model=RuleOut, tags=["rules"])
async def update_rule(
    rule_id: str,
    body: RuleUpdate,
    session: DbSession,
    principal: Annotated[Any, Officer],
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Replace a rule's definition (its version goes up)."""
    _check_rule(body.condition, body.subject_type)
    async with session.begin():
        updated = (
            await session.execute(
                update(rules)
                .where(rules.c.rule_id == rule_id)
                .values(
                    **body.model_dump(),
                    updated_by=principal.subject,
                    version=rules.c.version + 1,
                    updated_at=datetime.now().astimezone(),
                )
                .returning(*rules.c)
            )
        ).first()
        if updated is None:
            raise ProblemError(404, "Rule not found", f"rule {rule_id} does not exist")
        await audit.record(
            session,
            actor=principal.subject,
            action="rule.update",
            subject=rule_id,
            details={"condition": body.condition, "enabled": body.enabled},
            correlation_id=correlation_id,
        )
    return dict(updated._mapping)


def _encode_cursor(raised_at: datetime, alert_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([raised_at.isoformat(), alert_id]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raised_at, alert_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(raised_at), str(alert_id)
    except (ValueError, TypeError) as exc:
        raise ProblemError(400, "Bad cursor", "the cursor is not one this API returned") from exc


@router.get("/alerts", response_model=AlertsOut, tags=["alerts"], dependencies=[Reader])
async def list_alerts(
    session: DbSession,
    status_: Annotated[str | None, Query(alias="status", pattern="^(open|acknowledged|resolved|dismissed)$")] = None,
    severity: Annotated[str | None, Query(pattern="^(low|medium|high|critical)$")] = None,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    rule_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Alerts, newest first, filtered by status, severity, subject or rule; paginated with a cursor."""
    query = select(alerts).order_by(alerts.c.raised_at.desc(), alerts.c.alert_id.desc()).limit(limit + 1)
    conditions = []
    if status_:
        conditions.append(alerts.c.status == status_)
    if severity:
        conditions.append(alerts.c.severity == severity)
    if subject_id:
        conditions.append(alerts.c.subject_id == subject_id)
    if rule_id:
        conditions.append(alerts.c.rule_id == rule_id)
    if cursor:
        raised_at, alert_id = _decode_cursor(cursor)
        conditions.append(tuple_(alerts.c.raised_at, alerts.c.alert_id) < tuple_(raised_at, alert_id))
    if conditions:
        query = query.where(and_(*conditions))
    rows = [dict(r._mapping) for r in await session.execute(query)]
    next_cursor = (
        _encode_cursor(rows[limit - 1]["raised_at"], rows[limit - 1]["alert_id"]) if len(rows) > limit else None
    )
    return {"items": rows[:limit], "next_cursor": next_cursor}


@router.get("/alerts/{alert_id}", response_model=AlertOut, tags=["alerts"], dependencies=[Reader])
async def get_alert(alert_id: str, session: DbSession) -> dict[str, Any]:
    """An alert with its history."""
    try:
        return await alert_service.get(session, alert_id=alert_id)
    except alert_service.AlertNotFound as exc:
        raise ProblemError(404, "Alert not found", f"alert {alert_id} does not exist") from exc


async def _act(
    session: DbSession,
    *,
    alert_id: str,
    action: AlertAction,
    actor: str,
    correlation_id: str,
    assignee: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    async with session.begin():
        try:
            result = await alert_service.act(
                session,
                alert_id=alert_id,
                action=action,
                actor=actor,
                assignee=assignee,
                note=note,
                correlation_id=correlation_id,
            )
        except alert_service.AlertNotFound as exc:
            raise ProblemError(404, "Alert not found", f"alert {alert_id} does not exist") from exc
        except TransitionError as exc:
            raise ProblemError(409, "Transition not allowed", str(exc), type_="/problems/alert-transition") from exc
        await audit.record(
            session,
            actor=actor,
            action=f"alert.{action.value}",
            subject=alert_id,
            details={"assignee": assignee, "note": note},
            correlation_id=correlation_id,
        )
    return result


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut, tags=["alerts"])
async def acknowledge(
    alert_id: str,
    session: DbSession,
    principal: Annotated[Any, Officer],
    correlation_id: CorrelationId,
    body: AlertActionIn | None = None,
) -> dict[str, Any]:
    """open → acknowledged (the acknowledger becomes the assignee if there is none)."""
    note = body.note if body else None
    return await _act(
        session,
        alert_id=alert_id,
        action=AlertAction.ACKNOWLEDGE,
        actor=principal.subject,
        correlation_id=correlation_id,
        note=note,
    )


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut, tags=["alerts"])
async def resolve(
    alert_id: str,
    session: DbSession,
    principal: Annotated[Any, Officer],
    correlation_id: CorrelationId,
    body: AlertActionIn | None = None,
) -> dict[str, Any]:
    """open | acknowledged → resolved."""
    note = body.note if body else None
    return await _act(
        session,
        alert_id=alert_id,
        action=AlertAction.RESOLVE,
        actor=principal.subject,
        correlation_id=correlation_id,
        note=note,
    )


@router.post("/alerts/{alert_id}/dismiss", response_model=AlertOut, tags=["alerts"])
async def dismiss(
    alert_id: str,
    session: DbSession,
    principal: Annotated[Any, Officer],
    correlation_id: CorrelationId,
    body: AlertActionIn | None = None,
) -> dict[str, Any]:
    """open | acknowledged → dismissed (a false alarm)."""
    note = body.note if body else None
    return await _act(
        session,
        alert_id=alert_id,
        action=AlertAction.DISMISS,
        actor=principal.subject,
        correlation_id=correlation_id,
        note=note,
    )


@router.post("/alerts/{alert_id}/assign", response_model=AlertOut, tags=["alerts"])
async def assign(
    alert_id: str, body: AssignIn, session: DbSession, principal: Annotated[Any, Officer], correlation_id: CorrelationId
) -> dict[str, Any]:
    """Assign an open or acknowledged alert."""
    return await _act(
        session,
        alert_id=alert_id,
        action=AlertAction.ASSIGN,
        actor=principal.subject,
        correlation_id=correlation_id,
        assignee=body.assignee,
        note=body.note,
    )


@router.get("/models", response_model=ModelsOut, tags=["models"], dependencies=[Reader])
async def list_models(session: DbSession) -> dict[str, Any]:
    """Every model version with its status and hold-out metrics."""
    async with session.begin():
        items = await models.listing(session)
    return {
        "items": [
            {**m, "auc": m["metrics"].get("auc"), "ks": m["metrics"].get("ks"), "gini": m["metrics"].get("gini")}
            for m in items
        ]
    }


@router.get("/models/{version}/performance", response_model=PerformanceOut, tags=["models"], dependencies=[Reader])
async def model_performance(version: str, session: DbSession) -> dict[str, Any]:
    """AUC and KS on labelled own history, and PSI of current scores against the version's training scores."""
    async with session.begin():
        found = await models.artifact_of(session, version)
        if found is None:
            raise ProblemError(404, "Model not found", f"model {version} does not exist")
        model, metrics = found
        status_ = (
            await session.execute(select(models.models.c.status).where(models.models.c.version == version))
        ).scalar()
        scores = [
            float(s)
            for (s,) in await session.execute(select(loan_scores.c.score).where(loan_scores.c.model_version == version))
        ]
        labelled = await history.training_rows(session)
    reference = model.training.get("holdout", {}).get("score_distribution") or metrics.get("score_distribution")
    psi = training.psi(reference, np.asarray(scores)) if reference and scores else None
    observed = (
        training.evaluate(model, labelled) if len(labelled) and 0 < labelled.outcome.sum() < len(labelled) else None
    )
    if observed:
        MODEL_AUC.labels(version).set(observed["auc"])
        MODEL_KS.labels(version).set(observed["ks"])
    if psi is not None:
        MODEL_PSI.labels(version).set(psi)
    return {
        "version": version,
        "status": status_,
        "training_auc": metrics.get("auc"),
        "training_ks": metrics.get("ks"),
        "training_gini": metrics.get("gini"),
        "auc": observed["auc"] if observed else None,
        "ks": observed["ks"] if observed else None,
        "labelled_rows": len(labelled),
        "psi": psi,
        "scored_loans": len(scores),
        "calibration": observed["calibration"] if observed else metrics.get("calibration", []),
    }
