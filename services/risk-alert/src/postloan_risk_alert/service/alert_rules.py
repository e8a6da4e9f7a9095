"""Evaluate the enabled rules over column arrays of subjects: raise new alerts, auto-resolve stale ones."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_risk_alert.domain import rules
from postloan_risk_alert.domain.alerts import AlertBook, resolving, within_window
from postloan_risk_alert.service.signal_features import signal_columns
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store.alert_store import RAISE, RESOLVE, enabled_rules, load_alert_book
from postloan_risk_alert.store.customers import CUSTOMER_FETCH
from postloan_risk_alert.store.events import envelope_params

FloatArray = npt.NDArray[np.float64]


def _column(rows: Sequence[Any], name: str, *, missing: float = np.nan) -> FloatArray:
    return np.asarray([missing if r[name] is None else r[name] for r in rows], dtype=np.float64)


async def apply_rules(
    session: AsyncSession,
    *,
    subject_type: str,
    subjects: Sequence[str],
    customers: Sequence[str | None],
    columns: dict[str, Any],
    rule_set: Sequence[dict[str, Any]],
    book: AlertBook,
    business_date: date,
    auto_resolve: bool,
    correlation: str | None,
    actor: str = "risk-alert",
) -> tuple[int, int]:
    """Raise alerts for rules that hold and are not open or within their window; resolve those that stopped holding.

    A rule with a `resolve_condition` resolves only where that condition also holds (domain.alerts.resolving).
    """
    raw = await driver_connection(session)
    now = datetime.now(UTC)
    n = len(subjects)
    raised_total = resolved_total = 0
    position: dict[str, int] | None = None
    for rule in rule_set:
        mask = rules.evaluate_columns(rule["condition"], columns, n)
        resolve_condition = rule.get("resolve_condition")
        resolves = resolving(
            holds=mask,
            resolve_holds=None if resolve_condition is None else rules.evaluate_columns(resolve_condition, columns, n),
        )
        rule_id = rule["rule_id"]
        message = f"{rule['name']}: {rules.describe(rule['condition'])}"[:500]
        alert_ids: list[str] = []
        raised_subjects: list[str] = []
        raised_customers: list[str | None] = []
        for i in np.flatnonzero(mask).tolist():
            subject = subjects[i]
            key = (rule_id, subject)
            if key in book.open or within_window(book.last_raised.get(key), business_date, rule["dedup_window_days"]):
                continue
            alert_id = str(uuid.uuid4())
            book.add_open(rule_id, subject, alert_id)
            book.last_raised[key] = business_date
            alert_ids.append(alert_id)
            raised_subjects.append(subject)
            raised_customers.append(customers[i])
        if alert_ids:
            await raw.execute(
                RAISE,
                alert_ids,
                raised_subjects,
                raised_customers,
                rule_id,
                subject_type,
                rule["severity"],
                message,
                business_date,
                now,
                actor,
                *envelope_params(business_date, correlation, "risk-alert-raised"),
            )
            raised_total += len(alert_ids)
        if not (auto_resolve and rule["auto_resolve"]):
            continue
        # Only subjects with an open alert of this rule can resolve: visit whichever side is smaller.
        open_of_rule = book.by_rule.get(rule_id, {})
        if len(open_of_rule) < n:
            if position is None:
                position = {s: i for i, s in enumerate(subjects)}
            found = (position.get(s) for s in open_of_rule)
            candidates = sorted(i for i in found if i is not None and resolves[i])
        else:
            candidates = [i for i in np.flatnonzero(resolves).tolist() if subjects[i] in open_of_rule]
        resolved_subjects = [subjects[i] for i in candidates]
        resolved_ids = [book.pop_open(rule_id, s) for s in resolved_subjects]
        if resolved_ids:
            await raw.execute(
                RESOLVE,
                resolved_ids,
                resolved_subjects,
                rule_id,
                subject_type,
                now,
                actor,
                *envelope_params(business_date, correlation, "risk-alert-resolved"),
            )
            resolved_total += len(resolved_ids)
    return raised_total, resolved_total


async def evaluate_customer_rules(
    session: AsyncSession,
    *,
    business_date: date,
    settings: Settings,
    correlation_id: str | None,
    touched_only: bool = False,
    customer_ids: Sequence[str] = (),
    actor: str = "risk-alert",
) -> tuple[int, int]:
    """Evaluate the customer rules for the touched customers (or `customer_ids`)."""
    rule_set = await enabled_rules(session, "customer")
    if not rule_set:
        return 0, 0
    raw = await driver_connection(session)
    if touched_only:
        rows = await raw.fetch(CUSTOMER_FETCH + " WHERE cf.customer_id IN (SELECT customer_id FROM touched_customers)")
    else:
        rows = await raw.fetch(CUSTOMER_FETCH + " WHERE cf.customer_id = ANY($1::text[])", list(customer_ids))
    if not rows:
        return 0, 0
    columns: dict[str, Any] = {
        name: _column(rows, name)
        for name in (
            "loan_count",
            "outstanding",
            "npl_share",
            "max_dpd",
            "broken_promises",
            "debt_ratio",
            "current_ratio",
            "interest_coverage",
            "revenue_change",
            "debt_ratio_rises",
            "pd",
            "score",
        )
    }
    columns["grade"] = np.asarray([r["grade"] for r in rows], dtype=object)
    columns["segment"] = np.asarray([r["segment"] for r in rows], dtype=object)
    subjects = [r["customer_id"] for r in rows]
    columns.update(await signal_columns(session, customer_ids=subjects, business_date=business_date))
    book = await load_alert_book(session, subject_type="customer", business_date=business_date)
    return await apply_rules(
        session,
        subject_type="customer",
        subjects=subjects,
        customers=subjects,
        columns=columns,
        rule_set=rule_set,
        book=book,
        business_date=business_date,
        auto_resolve=settings.auto_resolve_alerts,
        correlation=correlation_id,
        actor=actor,
    )
