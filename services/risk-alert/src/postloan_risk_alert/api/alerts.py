"""Alerts and their lifecycle: acknowledge, resolve, dismiss, assign (`/v1/alerts`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from postloan_common.audit import changes
from postloan_common.web import CorrelationId, DbSession, Principal, ProblemError
from postloan_common.web.cursors import BadCursor, decode_cursor, encode_cursor
from postloan_common.web.openapi import problems
from postloan_risk_alert.api.deps import OfficerPrincipal, Reader
from postloan_risk_alert.api.schemas import (
    AlertActionIn,
    AlertOut,
    AlertsOut,
    AssignIn,
)
from postloan_risk_alert.domain.alerts import AlertAction, TransitionError
from postloan_risk_alert.service import alerts as alert_service
from postloan_risk_alert.service import audit
from postloan_risk_alert.store import alert_store

router = APIRouter(prefix="/v1", tags=["alerts"])


def _encode_cursor(raised_at: datetime, alert_id: str) -> str:
    return encode_cursor([raised_at.isoformat(), alert_id])


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    raised_at, alert_id = decode_cursor(cursor, size=2)
    try:
        return datetime.fromisoformat(raised_at), str(alert_id)
    except (ValueError, TypeError):
        raise BadCursor() from None


@router.get(
    "/alerts",
    response_model=AlertsOut,
    dependencies=[Reader],
    operation_id="listAlerts",
    responses=problems(401, 403, 400, 422),
)
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
    filters = {"status": status_, "severity": severity, "subject_id": subject_id, "rule_id": rule_id}
    after = _decode_cursor(cursor) if cursor else None
    rows = await alert_store.listed(session, filters=filters, after=after, limit=limit)
    next_cursor = (
        _encode_cursor(rows[limit - 1]["raised_at"], rows[limit - 1]["alert_id"]) if len(rows) > limit else None
    )
    return {"items": rows[:limit], "next_cursor": next_cursor}


@router.get(
    "/alerts/{alert_id}",
    response_model=AlertOut,
    dependencies=[Reader],
    operation_id="getAlert",
    responses=problems(401, 403, 404, 422),
)
async def get_alert(alert_id: str, session: DbSession) -> dict[str, Any]:
    """An alert with its history."""
    try:
        return await alert_service.get(session, alert_id=alert_id)
    except alert_service.AlertNotFound as exc:
        raise _not_found(alert_id) from exc


def _not_found(alert_id: str) -> ProblemError:
    return ProblemError(404, "Alert not found", f"alert {alert_id} does not exist")


async def _act(
    session: DbSession,
    *,
    alert_id: str,
    action: AlertAction,
    principal: Principal,
    correlation_id: str,
    body: AlertActionIn | AssignIn | None,
) -> dict[str, Any]:
    """Apply `action` with the body's note (and assignee, when assigning) and audit it."""
    actor, note = principal.subject, body.note if body else None
    assignee = body.assignee if isinstance(body, AssignIn) else None
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
            raise _not_found(alert_id) from exc
        except TransitionError as exc:
            raise ProblemError(409, "Transition not allowed", str(exc), type_="/problems/alert-transition") from exc
        await audit.record(
            session,
            actor=actor,
            action=f"alert.{action.value}",
            subject=alert_id,
            details={"assignee": assignee, "note": note, "changes": _transition_changes(result["history"])},
            correlation_id=correlation_id,
        )
    return result


def _transition_changes(history: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Old and new status and assignee of the step just taken (its history row and the one before it)."""
    step, previous = history[-1], (history[-2] if len(history) > 1 else {})
    return changes(
        {"status": step["from_status"], "assignee": previous.get("assignee")},
        {"status": step["to_status"], "assignee": step["assignee"]},
    )


def _add_note_action(action: AlertAction, *, name: str, operation_id: str, doc: str) -> None:
    """Register `POST /alerts/{id}/<name>`: the same body, roles and answers for each note-only action."""

    async def endpoint(
        alert_id: str,
        session: DbSession,
        principal: OfficerPrincipal,
        correlation_id: CorrelationId,
        body: AlertActionIn | None = None,
    ) -> dict[str, Any]:
        return await _act(
            session, alert_id=alert_id, action=action, principal=principal, correlation_id=correlation_id, body=body
        )

    # FastAPI derives the summary from the function's name; keep the one each route had.
    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    router.post(
        f"/alerts/{{alert_id}}/{name}",
        response_model=AlertOut,
        operation_id=operation_id,
        responses=problems(401, 403, 404, 409, 422),
    )(endpoint)


_add_note_action(
    AlertAction.ACKNOWLEDGE,
    name="acknowledge",
    operation_id="acknowledgeAlert",
    doc="open → acknowledged (the acknowledger becomes the assignee if there is none).",
)
_add_note_action(
    AlertAction.RESOLVE, name="resolve", operation_id="resolveAlert", doc="open | acknowledged → resolved."
)
_add_note_action(
    AlertAction.DISMISS,
    name="dismiss",
    operation_id="dismissAlert",
    doc="open | acknowledged → dismissed (a false alarm).",
)


@router.post(
    "/alerts/{alert_id}/assign",
    response_model=AlertOut,
    operation_id="assignAlert",
    responses=problems(401, 403, 404, 409, 422),
)
async def assign(
    alert_id: str, body: AssignIn, session: DbSession, principal: OfficerPrincipal, correlation_id: CorrelationId
) -> dict[str, Any]:
    """Assign an open or acknowledged alert."""
    return await _act(
        session,
        alert_id=alert_id,
        action=AlertAction.ASSIGN,
        principal=principal,
        correlation_id=correlation_id,
        body=body,
    )
