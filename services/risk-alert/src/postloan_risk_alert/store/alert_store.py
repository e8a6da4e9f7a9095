"""Alert reads and the set-based statements that raise and resolve alerts with their history and events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_common.db_arrays import unnest_sql
from postloan_risk_alert.domain.alerts import AlertBook
from postloan_risk_alert.store.events import emit_sql
from postloan_risk_alert.store.tables import alerts


async def listed(
    session: AsyncSession, *, filters: Mapping[str, str | None], after: tuple[datetime, str] | None, limit: int
) -> list[dict[str, Any]]:
    """Alerts newest first (`limit + 1` rows) whose columns equal the given `filters`, after a cursor position."""
    conditions = [alerts.c[column] == value for column, value in filters.items() if value]
    if after:
        conditions.append(tuple_(alerts.c.raised_at, alerts.c.alert_id) < tuple_(*after))
    query = select(alerts).where(*conditions).order_by(alerts.c.raised_at.desc(), alerts.c.alert_id.desc())
    return [dict(r._mapping) for r in await session.execute(query.limit(limit + 1))]


async def load_alert_book(session: AsyncSession, *, subject_type: str, business_date: date) -> AlertBook:
    """Open alerts and recent raisings of one subject type."""
    raw = await driver_connection(session)
    book = AlertBook()
    for r in await raw.fetch(
        "SELECT rule_id, subject_id, alert_id FROM alerts "
        "WHERE subject_type = $1 AND status IN ('open', 'acknowledged')",
        subject_type,
    ):
        book.add_open(r["rule_id"], r["subject_id"], r["alert_id"])
    for r in await raw.fetch(
        """SELECT a.rule_id, a.subject_id, max(a.raised_on) AS raised_on FROM alerts a JOIN rules r USING (rule_id)
           WHERE a.subject_type = $1 AND a.raised_on > $2::date - r.dedup_window_days GROUP BY 1, 2""",
        subject_type,
        business_date,
    ):
        book.last_raised[(r["rule_id"], r["subject_id"])] = r["raised_on"]
    return book


async def enabled_rules(session: AsyncSession, subject_type: str) -> list[dict[str, Any]]:
    """The enabled rules of a subject type."""
    raw = await driver_connection(session)
    rows = await raw.fetch(
        "SELECT rule_id, name, condition, resolve_condition, severity, dedup_window_days, auto_resolve FROM rules "
        "WHERE enabled AND subject_type = $1 ORDER BY rule_id",
        subject_type,
    )
    return [
        {
            **dict(r),
            "condition": _json(r["condition"]),
            "resolve_condition": None if r["resolve_condition"] is None else _json(r["resolve_condition"]),
        }
        for r in rows
    ]


def _json(value: Any) -> Any:
    """A JSONB value: the session's connection decodes it already, a bare asyncpg one does not."""
    return json.loads(value) if isinstance(value, str | bytes) else value


# Raise alerts of one rule: the alert rows, their history and their events in one statement.
RAISE = f"""
WITH a AS (
    SELECT * FROM {unnest_sql(alerts, ["alert_id", "subject_id", "customer_id"])} AS a(alert_id, subject, customer_id)
),
ins AS (
    INSERT INTO alerts (alert_id, rule_id, subject_type, subject_id, customer_id, severity, status, message,
        raised_on, raised_at)
    SELECT alert_id, $4, $5, subject, customer_id, $6, 'open', $7, $8, $9 FROM a
),
hist AS (
    INSERT INTO alert_history (alert_id, at, actor, action, from_status, to_status, note)
    SELECT alert_id, $9, $10, 'raise', NULL, 'open', NULL FROM a
),
d AS (
    SELECT subject, json_build_object('alert_id', alert_id, 'rule_id', $4::text, 'severity', $6::text,
        'subject_type', $5::text, 'subject_id', subject, 'customer_id', customer_id, 'message', $7::text) AS data
    FROM a
)
{emit_sql(source="d", type_="risk-alert-raised", first_param=11)}
"""

# Auto-resolve alerts of one rule: status, history and events in one statement.
RESOLVE = f"""
WITH a AS (SELECT * FROM {unnest_sql(alerts, ["alert_id", "subject_id"])} AS a(alert_id, subject)),
upd AS (
    UPDATE alerts SET status = 'resolved', closed_at = now(), updated_at = now()
    WHERE alert_id IN (SELECT alert_id FROM a)
),
hist AS (
    INSERT INTO alert_history (alert_id, at, actor, action, from_status, to_status, note)
    SELECT alert_id, $5, $6, 'auto-resolve', NULL, 'resolved', 'condition no longer holds' FROM a
),
d AS (
    SELECT subject, json_build_object('alert_id', alert_id, 'rule_id', $3::text, 'subject_type', $4::text,
        'subject_id', subject, 'resolution', 'resolved', 'resolved_by', $6::text,
        'note', 'condition no longer holds') AS data
    FROM a
)
{emit_sql(source="d", type_="risk-alert-resolved", first_param=7)}
"""
