"""Turn events of every topic into analytics facts; refold the touched loans' state intervals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import crm, repayment, risk
from postloan_common.contracts.registry import UnknownContract, parse_data
from postloan_common.messaging.consumer import BatchHook, PermanentError
from postloan_common.messaging.envelope import Envelope
from postloan_reporting.domain.collections import is_right_party
from postloan_reporting.domain.intervals import Fact, FactKind, LoanTerms, anchor_of, build_intervals
from postloan_reporting.domain.model import class_rank, month_start
from postloan_reporting.service import snapshots
from postloan_reporting.store.tables import (
    alerts,
    cases,
    contacts,
    installments,
    intervals,
    loan_facts,
    loans,
    promises,
    reminders,
    scores,
)


@dataclass
class _Batch:
    """What one run of events changed: loans to refold and the earliest date they changed from."""

    keys: dict[str, int]
    touched: set[int] = field(default_factory=set)
    changed_from: date | None = None

    def touch(self, loan_id: str, day: date) -> int:
        key = self.keys[loan_id]
        self.touched.add(key)
        self.changed_from = day if self.changed_from is None else min(self.changed_from, day)
        return key


def _business_date(envelope: Envelope) -> date:
    return envelope.business_date or envelope.time.date()


def _parse(envelope: Envelope) -> BaseModel:
    try:
        return parse_data(envelope)
    except (ValidationError, UnknownContract) as exc:
        raise PermanentError(f"{envelope.type} v{envelope.version}: {exc}") from exc


def _loan_id(data: BaseModel) -> str | None:
    value = getattr(data, "loan_id", None)
    if value is None and isinstance(data, risk.RiskAlertRaisedV1 | risk.RiskAlertResolvedV1):
        return None
    return value


async def loan_keys(session: AsyncSession, loan_ids: Iterable[str]) -> dict[str, int]:
    """Surrogate keys of `loan_ids`, creating placeholder loans for ids not seen yet."""
    wanted = sorted(set(loan_ids))
    if not wanted:
        return {}
    await session.execute(
        pg_insert(loans).on_conflict_do_nothing(index_elements=[loans.c.loan_id]),
        [{"loan_id": loan_id} for loan_id in wanted],
    )
    rows = await session.execute(select(loans.c.loan_id, loans.c.loan_key).where(loans.c.loan_id.in_(wanted)))
    return {row.loan_id: row.loan_key for row in rows}


FACT_VALUES = (
    "dpd_anchor",
    "outstanding_total",
    "overdue",
    "principal_paid",
    "principal_reset",
    "amount",
    "repayment_id",
    "class_rank",
)


def _fact(envelope: Envelope, key: int, kind: FactKind, effective: date, **values: Any) -> dict[str, Any]:
    # Every row carries every column: one executemany needs one set of keys.
    return {
        **dict.fromkeys(FACT_VALUES),
        "event_id": envelope.id,
        "loan_key": key,
        "kind": kind.value,
        "effective_date": effective,
        "business_date": _business_date(envelope),
        **values,
    }


async def _apply(session: AsyncSession, batch: _Batch, envelope: Envelope, data: BaseModel) -> list[dict[str, Any]]:
    """Apply one event; return the loan facts it adds."""
    day = _business_date(envelope)
    match data:
        case repayment.LoanRegisteredV1():
            key = batch.touch(data.loan_id, data.disbursed_on)
            await session.execute(
                update(loans)
                .where(loans.c.loan_key == key)
                .values(
                    customer_id=data.customer_id,
                    product=data.product,
                    branch=data.branch,
                    currency=data.currency,
                    principal=data.principal,
                    disbursed_on=data.disbursed_on,
                    vintage=month_start(data.disbursed_on),
                    registered=True,
                )
            )
            return []
        case repayment.PaymentReceivedV1():
            effective = min(data.value_date, day)
            key = batch.touch(data.loan_id, effective)
            return [
                _fact(
                    envelope,
                    key,
                    FactKind.PAYMENT,
                    effective,
                    dpd_anchor=anchor_of(day, data.dpd_after),
                    outstanding_total=data.outstanding_after,
                    overdue=data.overdue_after,
                    principal_paid=data.allocation.principal,
                    amount=data.amount,
                    repayment_id=data.repayment_id,
                )
            ]
        case repayment.PaymentReversedV1():
            effective = min(data.value_date, day)
            key = batch.touch(data.loan_id, effective)
            return [
                _fact(
                    envelope,
                    key,
                    FactKind.REVERSAL,
                    effective,
                    dpd_anchor=anchor_of(day, data.dpd_after),
                    outstanding_total=data.outstanding_after,
                    overdue=data.overdue_after,
                    amount=data.amount,
                    repayment_id=data.repayment_id,
                )
            ]
        case repayment.PaymentMissedV1():
            key = batch.touch(data.loan_id, day)
            await _upsert_installment(
                session, key, data.installment_seq, due_date=data.due_date, missed=True, amount=data.amount_overdue
            )
            return [_fact(envelope, key, FactKind.STATE, day, dpd_anchor=anchor_of(day, data.dpd))]
        case repayment.DelinquencyChangedV1():
            key = batch.touch(data.loan_id, day)
            return [
                _fact(
                    envelope,
                    key,
                    FactKind.STATE,
                    day,
                    dpd_anchor=anchor_of(day, data.dpd),
                    outstanding_total=data.outstanding,
                    overdue=data.overdue_amount,
                )
            ]
        case repayment.LoanCuredV1():
            key = batch.touch(data.loan_id, data.cured_on)
            return [_fact(envelope, key, FactKind.STATE, data.cured_on, outstanding_total=data.outstanding, overdue=0)]
        case repayment.LoanClosedV1():
            key = batch.touch(data.loan_id, data.closed_on)
            return [_fact(envelope, key, FactKind.CLOSED, data.closed_on)]
        case repayment.LoanRescheduledV1():
            key = batch.touch(data.loan_id, data.restructured_on)
            return [
                _fact(
                    envelope,
                    key,
                    FactKind.RESCHEDULE,
                    data.restructured_on,
                    principal_reset=data.outstanding_principal,
                    overdue=0,
                )
            ]
        case repayment.PaymentDueV1():
            key = batch.keys[data.loan_id]
            await _upsert_installment(
                session, key, data.installment_seq, due_date=data.due_date, missed=False, amount=data.amount_due
            )
            return []
        case risk.ClassificationChangedV1():
            key = batch.touch(data.loan_id, day)
            return [_fact(envelope, key, FactKind.CLASSIFICATION, day, class_rank=class_rank(data.to_classification))]
        case risk.RiskScoreChangedV1():
            values = {
                "score": data.score,
                "pd": data.pd,
                "grade": data.grade,
                "model_version": data.model_version,
                "business_date": day,
            }
            await session.execute(
                pg_insert(scores)
                .values(loan_key=batch.keys[data.loan_id], **values)
                .on_conflict_do_update(index_elements=[scores.c.loan_key], set_=values)
            )
            return []
        case risk.RiskAlertRaisedV1():
            values = {
                "rule_id": data.rule_id,
                "severity": data.severity.value,
                "subject_type": data.subject_type.value,
                "subject_id": data.subject_id,
                "raised_on": day,
            }
            await session.execute(
                pg_insert(alerts)
                .values(alert_id=data.alert_id, **values)
                .on_conflict_do_update(index_elements=[alerts.c.alert_id], set_=values)
            )
            return []
        case risk.RiskAlertResolvedV1():
            values = {"resolved_on": day, "resolution": data.resolution.value}
            await session.execute(
                pg_insert(alerts)
                .values(
                    alert_id=data.alert_id,
                    rule_id=data.rule_id,
                    subject_type=data.subject_type.value,
                    subject_id=data.subject_id,
                    **values,
                )
                .on_conflict_do_update(index_elements=[alerts.c.alert_id], set_=values)
            )
            return []
        case crm.ReminderSentV1():
            reminded = batch.keys.get(data.loan_id) if data.loan_id else None
            await session.execute(
                pg_insert(reminders)
                .values(reminder_id=data.reminder_id, loan_key=reminded, channel=data.channel.value, business_date=day)
                .on_conflict_do_nothing()
            )
            if reminded is not None and data.installment_seq is not None:
                await _upsert_installment(
                    session,
                    reminded,
                    data.installment_seq,
                    due_date=data.due_date,
                    reminded_on=day,
                    amount=data.amount_due,
                )
            return []
        case crm.ContactAttemptedV1():
            await session.execute(
                pg_insert(contacts)
                .values(
                    interaction_id=data.interaction_id,
                    loan_key=batch.keys.get(data.loan_id) if data.loan_id else None,
                    case_id=data.case_id,
                    agent_id=data.agent_id,
                    channel=data.channel.value,
                    connected=data.connected,
                    right_party=is_right_party(
                        connected=data.connected, party=data.party.value, outcome=data.outcome.value
                    ),
                    outcome=data.outcome.value,
                    business_date=day,
                )
                .on_conflict_do_nothing()
            )
            return []
        case crm.PromiseToPayMadeV1():
            made = {
                "loan_key": batch.keys[data.loan_id],
                "case_id": data.case_id,
                "agent_id": data.agent_id,
                "amount": data.amount,
                "promised_date": data.promised_date,
                "made_on": day,
            }
            await session.execute(
                pg_insert(promises)
                .values(promise_id=data.promise_id, **made)
                .on_conflict_do_update(index_elements=[promises.c.promise_id], set_=made)
            )
            return []
        case crm.PromiseKeptV1() | crm.PromiseBrokenV1():
            kept = isinstance(data, crm.PromiseKeptV1)
            outcome = {
                "status": "kept" if kept else "broken",
                "resolved_on": data.kept_on if isinstance(data, crm.PromiseKeptV1) else day,
                "amount_paid": data.amount_paid,
            }
            await session.execute(
                pg_insert(promises)
                .values(
                    promise_id=data.promise_id,
                    loan_key=batch.keys[data.loan_id],
                    case_id=data.case_id,
                    amount=data.amount,
                    promised_date=data.promised_date,
                    made_on=data.promised_date,
                    **outcome,
                )
                .on_conflict_do_update(index_elements=[promises.c.promise_id], set_=outcome)
            )
            return []
        case crm.CaseOpenedV1():
            opened = {
                "loan_key": batch.keys[data.loan_id],
                "queue": data.queue.value,
                "assignee": data.assignee,
                "opened_on": day,
            }
            await session.execute(
                pg_insert(cases)
                .values(case_id=data.case_id, **opened)
                .on_conflict_do_update(index_elements=[cases.c.case_id], set_=opened)
            )
            return []
        case crm.CaseClosedV1():
            closed = {
                "closed_on": data.closed_on,
                "close_reason": data.reason.value,
                "amount_collected": data.amount_collected,
            }
            await session.execute(
                pg_insert(cases)
                .values(
                    case_id=data.case_id,
                    loan_key=batch.keys[data.loan_id],
                    queue="unknown",
                    opened_on=data.closed_on,
                    **closed,
                )
                .on_conflict_do_update(index_elements=[cases.c.case_id], set_=closed)
            )
            return []
    return []


async def _upsert_installment(
    session: AsyncSession,
    key: int,
    seq: int,
    *,
    due_date: date | None,
    amount: Any = None,
    missed: bool | None = None,
    reminded_on: date | None = None,
) -> None:
    values: dict[str, Any] = {"loan_key": key, "seq": seq, "due_date": due_date, "amount_due": amount}
    changes: dict[str, Any] = {
        "due_date": func.coalesce(installments.c.due_date, due_date),
        "amount_due": func.coalesce(installments.c.amount_due, amount),
    }
    if missed:
        values["missed"] = changes["missed"] = True
    if reminded_on is not None:
        values["reminded_on"] = reminded_on
        changes["reminded_on"] = func.least(installments.c.reminded_on, reminded_on)
    stmt = pg_insert(installments).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[installments.c.loan_key, installments.c.seq], set_=changes)
    )


async def refold(session: AsyncSession, keys: Iterable[int]) -> None:
    """Rebuild the state intervals of the registered loans among `keys` from all their facts."""
    keys = sorted(set(keys))
    if not keys:
        return
    headers = {
        row.loan_key: row
        for row in await session.execute(select(loans).where(loans.c.loan_key.in_(keys), loans.c.registered.is_(True)))
    }
    facts: dict[int, list[Fact]] = {key: [] for key in headers}
    rows = await session.execute(select(loan_facts).where(loan_facts.c.loan_key.in_(list(headers))))
    for row in rows:
        facts[row.loan_key].append(
            Fact(
                kind=FactKind(row.kind),
                effective=row.effective_date,
                order=row.seq,
                anchor=row.dpd_anchor,
                outstanding_total=row.outstanding_total,
                overdue=row.overdue,
                principal_paid=row.principal_paid,
                principal_reset=row.principal_reset,
                repayment_id=row.repayment_id,
                class_rank=row.class_rank,
            )
        )
    new_rows = []
    for key, header in headers.items():
        terms = LoanTerms(principal=header.principal, disbursed_on=header.disbursed_on)
        for interval in build_intervals(terms, facts[key]):
            new_rows.append(
                {
                    "loan_key": key,
                    "valid_from": interval.valid_from,
                    "valid_to": interval.valid_to,
                    "dpd_anchor": interval.dpd_anchor,
                    "principal": interval.principal,
                    "outstanding_total": interval.outstanding_total,
                    "overdue": interval.overdue,
                    "class_rank": interval.class_rank,
                    "product": header.product,
                    "branch": header.branch,
                    "vintage": header.vintage,
                }
            )
    await session.execute(delete(intervals).where(intervals.c.loan_key.in_(keys)))
    if new_rows:
        await session.execute(insert(intervals), new_rows)


async def apply_events(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """Apply a run of events in one transaction (the consumer's batch handler for every type)."""
    parsed = [(envelope, _parse(envelope)) for envelope in envelopes]
    day_closes = [(e, d) for e, d in parsed if isinstance(d, repayment.DayClosedV1)]
    others = [(e, d) for e, d in parsed if not isinstance(d, repayment.DayClosedV1)]
    batch = _Batch(keys=await loan_keys(session, (i for _, d in others if (i := _loan_id(d)) is not None)))
    new_facts: list[dict[str, Any]] = []
    for envelope, data in others:
        new_facts += await _apply(session, batch, envelope, data)
    if new_facts:
        await session.execute(pg_insert(loan_facts).on_conflict_do_nothing(), new_facts)
    await refold(session, batch.touched)
    if batch.changed_from is not None:
        await snapshots.mark_stale(session, since=batch.changed_from)
    for _, data in day_closes:
        assert isinstance(data, repayment.DayClosedV1)
        await snapshots.record_day_close(
            session, business_date=data.business_date, partition=data.partition, partitions=data.partitions
        )


def batch_handlers() -> Mapping[str, BatchHook]:
    """The consumer's batch handlers: every event type reporting learns from."""
    types = [m.event_type for m in (*repayment.EVENTS, *risk.EVENTS, *crm.EVENTS)]
    return dict.fromkeys(types, apply_events)
