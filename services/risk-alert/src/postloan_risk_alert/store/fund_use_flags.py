"""Fund-use SQL: what a loan's flags are evaluated from, the flags and their alerts, the trace reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import String, and_, any_, bindparam, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.store.tables import (
    alert_history,
    alerts,
    fund_flow_totals,
    fund_flows,
    fund_use_flags,
    fund_use_policies,
    loan_features,
    loan_purposes,
)

_LOAN = (
    loan_features.c.loan_id,
    loan_features.c.customer_id,
    loan_features.c.product,
    loan_features.c.branch,
    loan_features.c.segment,
    loan_features.c.currency,
    loan_features.c.principal,
    loan_features.c.disbursed_on,
    loan_purposes.c.purpose,
)


def _any(column: Any, keys: Iterable[str]) -> Any:
    """`column = ANY(:keys)`: one array parameter; an IN list of a thousand keys costs more to compile than to run."""
    return column == any_(bindparam(None, sorted(set(keys)), type_=ARRAY(String)))


def _loans() -> Any:
    return select(*_LOAN).select_from(
        loan_features.outerjoin(loan_purposes, loan_purposes.c.loan_id == loan_features.c.loan_id)
    )


async def loans(session: AsyncSession, loan_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Customer, product, branch, segment, currency, principal, disbursement day and purpose of each loan."""
    rows = (await session.execute(_loans().where(_any(loan_features.c.loan_id, loan_ids)))).mappings()
    return {r["loan_id"]: dict(r) for r in rows}


async def loans_disbursed(session: AsyncSession, *, days: Iterable[date]) -> list[tuple[str, str | None, date]]:
    """Active loans disbursed on one of the days: (loan id, purpose or None, disbursement day)."""
    query = _loans().where(loan_features.c.disbursed_on.in_(sorted(set(days))), loan_features.c.status == "active")
    return [(r.loan_id, r.purpose, r.disbursed_on) for r in await session.execute(query)]


async def policies(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """Every stored policy's JSON, by purpose."""
    return {r.purpose: r.policy for r in await session.execute(select(fund_use_policies))}


async def flows_of(session: AsyncSession, loan_ids: Iterable[str]) -> list[Any]:
    """The flows of the loans (for the evaluation only; the trace reads the totals)."""
    query = select(
        fund_flows.c.flow_id,
        fund_flows.c.loan_id,
        fund_flows.c.occurred_on,
        fund_flows.c.direction,
        fund_flows.c.amount,
        fund_flows.c.counterparty_kind,
        fund_flows.c.counterparty_account,
        fund_flows.c.counterparty_name,
        fund_flows.c.category,
    ).where(_any(fund_flows.c.loan_id, loan_ids))
    return list((await session.execute(query)).mappings())


async def flags_of(session: AsyncSession, loan_ids: Iterable[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """The loans' flags with their alert's status, by (loan, rule)."""
    query = (
        select(fund_use_flags, alerts.c.status)
        .select_from(fund_use_flags.outerjoin(alerts, alerts.c.alert_id == fund_use_flags.c.alert_id))
        .where(_any(fund_use_flags.c.loan_id, loan_ids))
        .order_by(fund_use_flags.c.rule)
    )
    return {(r.loan_id, r.rule): dict(r._mapping) for r in await session.execute(query)}


async def save_flags(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert or replace loans' flags (one per loan and rule) in one executemany."""
    if not rows:
        return
    statement = pg_insert(fund_use_flags)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[fund_use_flags.c.loan_id, fund_use_flags.c.rule],
            set_={k: statement.excluded[k] for k in ("reason", "amount", "flow_ids", "alert_id")},
        ),
        rows,
    )


async def open_alerts(session: AsyncSession, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The open (or acknowledged) alert of each (rule, loan) among `keys` that has one."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    query = select(alerts.c.rule_id, alerts.c.subject_id, alerts.c.alert_id).where(
        alerts.c.subject_type == "loan",
        alerts.c.status.in_(("open", "acknowledged")),
        tuple_(alerts.c.rule_id, alerts.c.subject_id).in_(wanted),
    )
    return {(r.rule_id, r.subject_id): r.alert_id for r in await session.execute(query)}


async def insert_alerts(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Open alerts (rows of the alerts table) and write their raise to the history, in two executemany."""
    if not rows:
        return
    await session.execute(pg_insert(alerts).on_conflict_do_nothing(), rows)
    await session.execute(
        alert_history.insert(),
        [
            {
                "alert_id": r["alert_id"],
                "actor": "fund-use",
                "action": "raise",
                "from_status": None,
                "to_status": "open",
            }
            for r in rows
        ],
    )


async def totals_of(session: AsyncSession, loan_id: str) -> list[Any]:
    """The loan's running totals by direction, counterparty kind and category."""
    query = (
        select(fund_flow_totals)
        .where(fund_flow_totals.c.loan_id == loan_id)
        .order_by(fund_flow_totals.c.direction, fund_flow_totals.c.counterparty_kind, fund_flow_totals.c.category)
    )
    return list(await session.execute(query))


@dataclass(frozen=True)
class FlagFilter:
    """Which flags a page lists: by their alert's status, the loan's product and branch, after a keyset."""

    status: str | None = None
    product: str | None = None
    branch: str | None = None
    after: tuple[str, str, str] | None = None


async def list_flags(session: AsyncSession, *, where: FlagFilter, limit: int) -> list[dict[str, Any]]:
    """Flags newest first with their loan's product and branch and their alert's status, after a keyset."""
    query = (
        select(fund_use_flags, alerts.c.status, loan_features.c.product, loan_features.c.branch)
        .select_from(
            fund_use_flags.join(loan_features, loan_features.c.loan_id == fund_use_flags.c.loan_id).outerjoin(
                alerts, alerts.c.alert_id == fund_use_flags.c.alert_id
            )
        )
        .order_by(fund_use_flags.c.raised_on.desc(), fund_use_flags.c.loan_id, fund_use_flags.c.rule)
        .limit(limit)
    )
    conditions = []
    if where.status is not None:
        conditions.append(alerts.c.status == where.status)
    if where.product is not None:
        conditions.append(loan_features.c.product == where.product)
    if where.branch is not None:
        conditions.append(loan_features.c.branch == where.branch)
    if where.after is not None:
        day = date.fromisoformat(where.after[0])
        conditions.append(
            (fund_use_flags.c.raised_on < day)
            | (
                (fund_use_flags.c.raised_on == day)
                & (tuple_(fund_use_flags.c.loan_id, fund_use_flags.c.rule) > tuple_(where.after[1], where.after[2]))
            )
        )
    if conditions:
        query = query.where(and_(*conditions))
    return [dict(r._mapping) for r in await session.execute(query)]
