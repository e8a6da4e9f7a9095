"""Acting on alerts: acknowledge, assign, resolve, dismiss — with history and events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import RiskAlertResolvedV1
from postloan_risk_alert.domain.alerts import AlertAction, AlertStatus, next_status
from postloan_risk_alert.store import events
from postloan_risk_alert.store.tables import alert_history, alerts, day_closures


class AlertNotFound(LookupError):
    """No alert has that id."""


async def act(
    session: AsyncSession,
    *,
    alert_id: str,
    action: AlertAction,
    actor: str,
    assignee: str | None = None,
    note: str | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    """Apply `action` to an alert (TransitionError when not allowed) and return the alert."""
    row = (await session.execute(select(alerts).where(alerts.c.alert_id == alert_id).with_for_update())).first()
    if row is None:
        raise AlertNotFound(alert_id)
    status = next_status(row.status, action)
    values: dict[str, Any] = {"status": status.value, "updated_at": func.now()}
    if action is AlertAction.ASSIGN:
        values["assignee"] = assignee
    elif action is AlertAction.ACKNOWLEDGE and row.assignee is None:
        values["assignee"] = actor
    if status in (AlertStatus.RESOLVED, AlertStatus.DISMISSED):
        values["closed_at"] = datetime.now(UTC)
    await session.execute(update(alerts).where(alerts.c.alert_id == alert_id).values(**values))
    await session.execute(
        insert(alert_history).values(
            alert_id=alert_id,
            actor=actor,
            action=action.value,
            from_status=row.status,
            to_status=status.value,
            assignee=values.get("assignee", row.assignee),
            note=note,
        )
    )
    if status in (AlertStatus.RESOLVED, AlertStatus.DISMISSED):
        data = RiskAlertResolvedV1(
            alert_id=alert_id,
            rule_id=row.rule_id,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            resolution=status.value,
            resolved_by=actor[:64] if actor else None,
            note=note or None,
        )
        business_date = await current_business_date(session)
        await events.publish(
            session, data, subject=row.subject_id, business_date=business_date, correlation_id=correlation_id
        )
    return await get(session, alert_id=alert_id)


async def get(session: AsyncSession, *, alert_id: str) -> dict[str, Any]:
    """An alert with its history."""
    row = (await session.execute(select(alerts).where(alerts.c.alert_id == alert_id))).first()
    if row is None:
        raise AlertNotFound(alert_id)
    history = await session.execute(
        select(alert_history).where(alert_history.c.alert_id == alert_id).order_by(alert_history.c.id)
    )
    return {**row._mapping, "history": [dict(h._mapping) for h in history]}


async def current_business_date(session: AsyncSession) -> date:
    """The latest business date this service has seen closed (today's date before any)."""
    latest = (await session.execute(select(func.max(day_closures.c.business_date)))).scalar()
    return latest or datetime.now(UTC).date()
