"""Fund-use findings: evaluate a loan's flows under its purpose's policy, raise alerts, read the trace."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.catalog import RISK_SCORES
from postloan_common.contracts import RiskAlertRaisedV1
from postloan_common.contracts.common import LoanPurpose
from postloan_common.messaging.outbox import add_events, outbox_row
from postloan_common.money import quantize_money
from postloan_risk_alert.domain import fund_use
from postloan_risk_alert.service.alerts import current_business_date
from postloan_risk_alert.store import events
from postloan_risk_alert.store import fund_use_flags as store
from postloan_risk_alert.store.tables import outbox

ZERO = Decimal(0)


async def policies(session: AsyncSession) -> dict[str | None, fund_use.Policy]:
    """The policy of every purpose (and of a loan without one: `other`'s), stored or default."""
    stored = await store.policies(session)
    out: dict[str | None, fund_use.Policy] = {
        p.value: fund_use.policy_from_json(stored[p.value]) if p.value in stored else fund_use.default_policy(p.value)
        for p in LoanPurpose
    }
    out[None] = out[LoanPurpose.OTHER.value]
    return out


def to_flow(row: Mapping[str, Any]) -> fund_use.Flow:
    """A flow row (stored, or about to be) as the domain sees it."""
    return fund_use.Flow(
        row["flow_id"],
        row["occurred_on"],
        row["direction"],
        row["amount"],
        row["counterparty_kind"],
        row["counterparty_account"] or row["counterparty_name"],
        row["category"],
    )


async def loans_of(session: AsyncSession, *, loan_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The known loans among `loan_ids` with what their flows are checked and evaluated against."""
    return await store.loans(session, loan_ids)


async def evaluate_loans(
    session: AsyncSession,
    *,
    loan_ids: Iterable[str],
    as_of: date | None = None,
    correlation_id: str | None = None,
    known: Mapping[str, dict[str, Any]] | None = None,
    by_purpose: Mapping[str | None, fund_use.Policy] | None = None,
) -> int:
    """Re-evaluate the loans' flags (their rows and policies read unless `known`); return the flags raised."""
    ids = set(loan_ids)
    if not ids:
        return 0
    on = as_of or await current_business_date(session)
    if by_purpose is None:
        by_purpose = await policies(session)
    loans = {i: known[i] for i in ids if i in known} if known is not None else await store.loans(session, ids)
    flows: dict[str, list[fund_use.Flow]] = {}
    for row in await store.flows_of(session, ids):
        flows.setdefault(row["loan_id"], []).append(to_flow(row))
    existing = await store.flags_of(session, ids)
    found: list[Found] = []
    for loan_id, loan in sorted(loans.items()):
        flags = fund_use.evaluate(
            by_purpose[loan["purpose"]],
            flows.get(loan_id, []),
            disbursed=loan["principal"],
            disbursed_on=loan["disbursed_on"],
            as_of=on,
            retail=loan["segment"] == "retail",
        )
        found.extend((loan, flag, existing.get((loan_id, flag.rule))) for flag in flags)
    return await _keep(session, found, on, correlation_id)


Found = tuple[dict[str, Any], fund_use.Flag, dict[str, Any] | None]


async def _keep(session: AsyncSession, found: list[Found], on: date, correlation_id: str | None) -> int:
    """Store changed flags; a new one, or one whose alert was closed, opens an alert. Return the new flags."""
    changed = [
        (loan, flag, before)
        for loan, flag, before in found
        if before is None or before["amount"] != flag.amount or list(before["flow_ids"]) != list(flag.flow_ids)
    ]
    alerting = [(loan, flag) for loan, flag, before in changed if before is None or before["status"] not in _OPEN]
    open_now = await store.open_alerts(session, {(flag.rule, loan["loan_id"]) for loan, flag in alerting})
    alert_rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for loan, flag in alerting:
        key = (flag.rule, loan["loan_id"])
        if key in open_now:
            continue
        open_now[key] = str(uuid.uuid4())
        alert_rows.append(_alert_row(loan, flag, open_now[key], on))
        events.append(_announcement(loan, flag, open_now[key], on, correlation_id))
    await store.insert_alerts(session, alert_rows)
    await add_events(session, outbox, events)
    rows = [
        {
            "loan_id": loan["loan_id"],
            "rule": flag.rule,
            "reason": flag.reason,
            "amount": flag.amount,
            "flow_ids": list(flag.flow_ids),
            "raised_on": before["raised_on"] if before is not None else on,
            "alert_id": open_now.get((flag.rule, loan["loan_id"]), before["alert_id"] if before else None),
        }
        for loan, flag, before in changed
    ]
    await store.save_flags(session, rows)
    return sum(1 for _, _, before in changed if before is None)


_OPEN = ("open", "acknowledged")


def _alert_row(loan: dict[str, Any], flag: fund_use.Flag, alert_id: str, on: date) -> dict[str, Any]:
    return {
        "alert_id": alert_id,
        "rule_id": flag.rule,
        "subject_type": "loan",
        "subject_id": loan["loan_id"],
        "customer_id": loan["customer_id"],
        "severity": fund_use.SEVERITY[flag.rule],
        "status": "open",
        "message": flag.reason[:500],
        "raised_on": on,
    }


def _announcement(
    loan: dict[str, Any], flag: fund_use.Flag, alert_id: str, on: date, correlation_id: str | None
) -> dict[str, Any]:
    envelope = events.risk_event(
        RiskAlertRaisedV1(
            alert_id=alert_id,
            rule_id=flag.rule,
            severity=fund_use.SEVERITY[flag.rule],
            subject_type="loan",
            subject_id=loan["loan_id"],
            customer_id=loan["customer_id"],
            message=flag.reason[:500],
        ),
        subject=loan["loan_id"],
        business_date=on,
        correlation_id=correlation_id,
    )
    return outbox_row(envelope, topic=RISK_SCORES)


async def evaluate_untraced(session: AsyncSession, *, business_date: date, correlation_id: str | None) -> int:
    """At close of day: evaluate the loans whose trace window ended the day before (untraced needs no new flow)."""
    ended = {
        purpose: business_date - timedelta(days=policy.trace_window_days + 1)
        for purpose, policy in (await policies(session)).items()
    }
    loans = await store.loans_disbursed(session, days=ended.values())
    candidates = {loan_id for loan_id, purpose, day in loans if ended[purpose] == day}
    return await evaluate_loans(session, loan_ids=candidates, as_of=business_date, correlation_id=correlation_id)


async def trace(session: AsyncSession, *, loan_id: str) -> dict[str, Any] | None:
    """Disbursed, traced out by kind and category, untraced remainder, flows back and flags, from stored totals."""
    loan = (await store.loans(session, [loan_id])).get(loan_id)
    if loan is None:
        return None
    out: list[dict[str, Any]] = []
    inflows: list[dict[str, Any]] = []
    for row in await store.totals_of(session, loan_id):
        item = {
            "counterparty_kind": row.counterparty_kind,
            "category": row.category or None,
            "amount": row.amount,
            "flows": row.flows,
        }
        (out if row.direction == "out" else inflows).append(item)
    traced = sum((i["amount"] for i in out if i["counterparty_kind"] != "unknown"), ZERO)
    back = sum((i["amount"] for i in out if i["counterparty_kind"] in fund_use.BACK_KINDS), ZERO)
    flags = await store.flags_of(session, [loan_id])
    return {
        "loan_id": loan_id,
        "purpose": loan["purpose"],
        "currency": loan["currency"],
        "disbursed_on": loan["disbursed_on"],
        "disbursed": loan["principal"],
        "traced_out": out,
        "traced_total": quantize_money(traced),
        "untraced_remainder": quantize_money(max(loan["principal"] - traced, ZERO)),
        "flows_back": quantize_money(back),
        "inflows": inflows,
        "flags": [_flag_view(f) for f in flags.values()],
    }


def _flag_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "loan_id": row["loan_id"],
        "rule": row["rule"],
        "reason": row["reason"],
        "amount": row["amount"],
        "flow_ids": list(row["flow_ids"]),
        "raised_on": row["raised_on"],
        "alert_id": row["alert_id"],
        "status": row.get("status"),
        **({"product": row["product"], "branch": row["branch"]} if "product" in row else {}),
    }


async def list_flags(session: AsyncSession, *, where: store.FlagFilter, limit: int) -> list[dict[str, Any]]:
    """A page of flags for the monitoring team, newest first."""
    rows = await store.list_flags(session, where=where, limit=limit)
    return [_flag_view(r) for r in rows]


async def after_ingest(
    session: AsyncSession, *, rows: list[dict[str, Any]], loans: Mapping[str, dict[str, Any]]
) -> int:
    """Evaluate the loans (`loans`: loans_of theirs) of new flows that can change a flag; return the flags raised."""
    if not rows:
        return 0
    by_purpose = await policies(session)
    suspects = {
        r["loan_id"] for r in rows if fund_use.may_raise(by_purpose[loans[r["loan_id"]]["purpose"]], to_flow(r))
    }
    return await evaluate_loans(session, loan_ids=suspects, known=loans, by_purpose=by_purpose)
