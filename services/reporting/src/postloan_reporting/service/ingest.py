"""Turn events of every topic into analytics facts; refold the touched loans' state intervals.

Set-based at volume: a run of events costs a handful of statements whatever its length (arrays
joined with unnest() on the session's asyncpg connection), and a loan's intervals are refolded
only from the earliest day the run changed, so the cost of an event does not grow with the
loan's history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import crm, repayment, risk
from postloan_common.contracts.registry import UnknownContract, parse_data
from postloan_common.db import driver_connection
from postloan_common.messaging.consumer import BatchHook, PermanentError
from postloan_common.messaging.envelope import Envelope
from postloan_reporting.domain.collections import is_right_party
from postloan_reporting.domain.intervals import (
    STATE_KINDS,
    Fact,
    FactKind,
    Interval,
    LoanTerms,
    Prior,
    anchor_of,
    build_intervals,
)
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

# `since` of a loan whose intervals are refolded from all its facts.
FROM_THE_START = date.min


def _array_types(table: Table, columns: Sequence[str]) -> list[str]:
    # Without length or scale: an explicit cast to varchar(n) would truncate silently, the
    # assignment to the column refuses what does not fit.
    dialect = postgresql.dialect()
    return [f"{table.c[name].type.compile(dialect=dialect).split('(')[0]}[]" for name in columns]


def _unnest(table: Table, columns: Sequence[str]) -> str:
    """`unnest($1::type[], …)` over `columns` of `table`, one array parameter each."""
    casts = ", ".join(f"${i}::{kind}" for i, kind in enumerate(_array_types(table, columns), start=1))
    return f"unnest({casts})"


@dataclass(frozen=True)
class _Upsert:
    """One INSERT … ON CONFLICT per run of events; rows of one key collapse as one after another would."""

    table: Table
    columns: tuple[str, ...]
    key: tuple[str, ...]
    update: tuple[str, ...] = ()  # set from the later event; () keeps the first (DO NOTHING)
    sql: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        action = (
            "DO UPDATE SET " + ", ".join(f"{name} = EXCLUDED.{name}" for name in self.update)
            if self.update
            else "DO NOTHING"
        )
        sql = (
            f"INSERT INTO {self.table.name} ({', '.join(self.columns)})"
            f" SELECT * FROM {_unnest(self.table, self.columns)} ON CONFLICT ({', '.join(self.key)}) {action}"
        )
        object.__setattr__(self, "sql", sql)

    def collapse(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """One row per key: the first event's values with the update columns of the last."""
        key_at = [self.columns.index(name) for name in self.key]
        update_at = [self.columns.index(name) for name in self.update]
        merged: dict[tuple[Any, ...], list[Any]] = {}
        for row in rows:
            key = tuple(row[i] for i in key_at)
            if (known := merged.get(key)) is None:
                merged[key] = list(row)
            else:
                for i in update_at:
                    known[i] = row[i]
        return [tuple(row) for row in merged.values()]


_SCORE = _Upsert(
    scores,
    ("loan_key", "score", "pd", "grade", "model_version", "business_date"),
    ("loan_key",),
    ("score", "pd", "grade", "model_version", "business_date"),
)
_ALERT_RAISED = _Upsert(
    alerts,
    ("alert_id", "rule_id", "severity", "subject_type", "subject_id", "raised_on"),
    ("alert_id",),
    ("rule_id", "severity", "subject_type", "subject_id", "raised_on"),
)
_ALERT_RESOLVED = _Upsert(
    alerts,
    ("alert_id", "rule_id", "subject_type", "subject_id", "resolved_on", "resolution"),
    ("alert_id",),
    ("resolved_on", "resolution"),
)
_REMINDER = _Upsert(reminders, ("reminder_id", "loan_key", "channel", "business_date"), ("reminder_id",))
_CONTACT = _Upsert(
    contacts,
    (
        "interaction_id",
        "loan_key",
        "case_id",
        "agent_id",
        "channel",
        "connected",
        "right_party",
        "outcome",
        "business_date",
    ),
    ("interaction_id",),
)
_PROMISE_MADE = _Upsert(
    promises,
    ("promise_id", "loan_key", "case_id", "agent_id", "amount", "promised_date", "made_on"),
    ("promise_id",),
    ("loan_key", "case_id", "agent_id", "amount", "promised_date", "made_on"),
)
_PROMISE_RESOLVED = _Upsert(
    promises,
    (
        "promise_id",
        "loan_key",
        "case_id",
        "amount",
        "promised_date",
        "made_on",
        "status",
        "resolved_on",
        "amount_paid",
    ),
    ("promise_id",),
    ("status", "resolved_on", "amount_paid"),
)
_CASE_OPENED = _Upsert(
    cases,
    ("case_id", "loan_key", "queue", "assignee", "opened_on"),
    ("case_id",),
    ("loan_key", "queue", "assignee", "opened_on"),
)
_CASE_CLOSED = _Upsert(
    cases,
    ("case_id", "loan_key", "queue", "opened_on", "closed_on", "close_reason", "amount_collected"),
    ("case_id",),
    ("closed_on", "close_reason", "amount_collected"),
)

_FACT_COLUMNS = (
    "event_id",
    "loan_key",
    "kind",
    "effective_date",
    "business_date",
    "dpd_anchor",
    "outstanding_total",
    "overdue",
    "principal_paid",
    "principal_reset",
    "amount",
    "repayment_id",
    "class_rank",
)
_FACT_VALUES = _FACT_COLUMNS[5:]
_INSERT_FACTS = (
    f"INSERT INTO {loan_facts.name} ({', '.join(_FACT_COLUMNS)})"
    f" SELECT * FROM {_unnest(loan_facts, _FACT_COLUMNS)} ON CONFLICT DO NOTHING"
)

_INSTALLMENT_COLUMNS = ("loan_key", "seq", "due_date", "amount_due", "missed", "reminded_on")
# The same merge, row by row, as the events one after another: first due date and amount win,
# missed sticks, the first reminder is the earliest.
_UPSERT_INSTALLMENTS = f"""
    INSERT INTO {installments.name} AS i ({", ".join(_INSTALLMENT_COLUMNS)})
    SELECT * FROM {_unnest(installments, _INSTALLMENT_COLUMNS)}
    ON CONFLICT (loan_key, seq) DO UPDATE SET
        due_date = coalesce(i.due_date, EXCLUDED.due_date),
        amount_due = coalesce(i.amount_due, EXCLUDED.amount_due),
        missed = i.missed OR EXCLUDED.missed,
        reminded_on = least(i.reminded_on, EXCLUDED.reminded_on)
"""

_REGISTRATION_COLUMNS = (
    "loan_key",
    "customer_id",
    "product",
    "branch",
    "currency",
    "principal",
    "disbursed_on",
    "vintage",
)
_REGISTER = f"""
    UPDATE {loans.name} AS l
    SET {", ".join(f"{name} = r.{name}" for name in _REGISTRATION_COLUMNS[1:])}, registered = true
    FROM {_unnest(loans, _REGISTRATION_COLUMNS)} AS r({", ".join(_REGISTRATION_COLUMNS)})
    WHERE l.loan_key = r.loan_key
"""

_KNOWN_KEYS = f"""
    SELECT l.loan_id, l.loan_key FROM unnest($1::text[]) AS t(loan_id) JOIN {loans.name} AS l USING (loan_id)
"""
# Locked in key order: a loan's facts are then written and folded by one transaction at a time,
# so their arrival order (seq) is the order in which folds see them.
_LOCKED_KEYS = _KNOWN_KEYS + " ORDER BY l.loan_key FOR UPDATE OF l"
_NEW_KEYS = f"""
    INSERT INTO {loans.name} (loan_id) SELECT unnest($1::text[]) ON CONFLICT (loan_id) DO NOTHING
"""

_STATE_KIND_LIST = ", ".join(sorted(f"'{kind.value}'" for kind in STATE_KINDS))
_FACT_FIELDS = ("seq", "kind", "effective_date", *_FACT_VALUES)
_RESUMABLE = "coalesce(i.outstanding_total <> i.principal, false)"  # `Prior.resumable`, given a stored interval
# Per loan in one round trip: its terms, the stored interval covering the day before `since`, what
# the facts before that day left, and the facts the fold needs (records in arrival order): those
# from `since` on when it can resume there, else all. (An outstanding other than the principal is
# an observation, so a state fact before `since` exists whenever the interval is resumable.)
# OFFSET 0 keeps the interval lookup a per-loan index scan whatever the statistics say.
_LOANS_TO_FOLD = f"""
    SELECT t.loan_key, t.since, l.principal AS terms_principal, l.disbursed_on, l.product, l.branch, l.vintage,
           i.valid_from, i.valid_to, i.dpd_anchor, i.principal, i.outstanding_total, i.overdue, i.class_rank,
           {_RESUMABLE} AS resumable, f.*
    FROM unnest($1::bigint[], $2::date[]) AS t(loan_key, since)
    JOIN {loans.name} AS l ON l.loan_key = t.loan_key AND l.registered
    LEFT JOIN LATERAL (
        SELECT * FROM {intervals.name} AS i
        WHERE i.loan_key = t.loan_key AND i.valid_from < t.since AND i.valid_to >= t.since OFFSET 0
    ) AS i ON true
    CROSS JOIN LATERAL (
        SELECT max(seq) FILTER (WHERE effective_date < t.since AND kind IN ({_STATE_KIND_LIST})) AS prior_order,
               array_agg(repayment_id) FILTER (WHERE kind = '{FactKind.REVERSAL.value}') AS reversed_ids,
               array_agg(ROW({", ".join(_FACT_FIELDS)}) ORDER BY seq)
                   FILTER (WHERE effective_date >= t.since OR NOT {_RESUMABLE}) AS facts
        FROM {loan_facts.name} AS f WHERE f.loan_key = t.loan_key
    ) AS f
"""
_INTERVAL_COLUMNS = (
    "loan_key",
    "valid_from",
    "valid_to",
    "dpd_anchor",
    "principal",
    "outstanding_total",
    "overdue",
    "class_rank",
    "product",
    "branch",
    "vintage",
)
_INTERVAL_STATE = _INTERVAL_COLUMNS[2:]
_FOLDED = ", ".join(f"${i}::{kind}" for i, kind in enumerate(_array_types(intervals, _INTERVAL_COLUMNS), start=3))
# A loan's intervals from `valid_from` on become the folded ones ($3 …): those that did not change
# stay as they are, and the deleted rows and the written ones are disjoint, so one statement does;
# it marks the snapshots from the last parameter on stale too (none when NULL).
_REPLACE_INTERVALS = f"""
    WITH stale AS ({snapshots.mark_stale_sql(f"${len(_INTERVAL_COLUMNS) + 3}::date")}), folded AS (
        SELECT * FROM unnest({_FOLDED}) AS n({", ".join(_INTERVAL_COLUMNS)})
    ), dropped AS (
        DELETE FROM {intervals.name} AS i USING unnest($1::bigint[], $2::date[]) AS t(loan_key, valid_from)
        WHERE i.loan_key = t.loan_key AND i.valid_from >= t.valid_from
          AND NOT EXISTS (SELECT FROM folded AS n WHERE n.loan_key = i.loan_key AND n.valid_from = i.valid_from)
    )
    INSERT INTO {intervals.name} AS i ({", ".join(_INTERVAL_COLUMNS)}) SELECT * FROM folded
    ON CONFLICT (loan_key, valid_from) DO UPDATE
    SET ({", ".join(_INTERVAL_STATE)}) = ROW({", ".join(f"EXCLUDED.{name}" for name in _INTERVAL_STATE)})
    WHERE ({", ".join(f"i.{name}" for name in _INTERVAL_STATE)})
          IS DISTINCT FROM ({", ".join(f"EXCLUDED.{name}" for name in _INTERVAL_STATE)})
"""


@dataclass
class _Installment:
    due_date: date | None
    amount_due: Decimal | None
    missed: bool
    reminded_on: date | None


@dataclass
class _Changes:
    """What a run of events writes, and the day from which each touched loan is refolded."""

    keys: dict[str, int]
    facts: list[tuple[Any, ...]] = field(default_factory=list)
    registrations: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    installments: dict[tuple[int, int], _Installment] = field(default_factory=dict)
    upserts: list[tuple[_Upsert, list[tuple[Any, ...]]]] = field(default_factory=list)
    refold_from: dict[int, date] = field(default_factory=dict)
    changed_from: date | None = None

    def touch(self, loan_id: str, day: date, *, from_the_start: bool = False) -> int:
        key = self.keys[loan_id]
        since = FROM_THE_START if from_the_start else day
        self.refold_from[key] = min(self.refold_from.get(key, since), since)
        self.changed_from = day if self.changed_from is None else min(self.changed_from, day)
        return key

    def fact(self, envelope: Envelope, key: int, kind: FactKind, effective: date, **values: Any) -> None:
        self.facts.append(
            (envelope.id, key, kind.value, effective, _business_date(envelope), *(values.get(n) for n in _FACT_VALUES))
        )

    def upsert(self, spec: _Upsert, row: tuple[Any, ...]) -> None:
        if self.upserts and self.upserts[-1][0] is spec:
            self.upserts[-1][1].append(row)
        else:
            self.upserts.append((spec, [row]))

    def installment(
        self,
        key: int,
        seq: int,
        *,
        due_date: date | None,
        amount: Decimal | None,
        missed: bool = False,
        reminded_on: date | None = None,
    ) -> None:
        known = self.installments.get((key, seq))
        if known is None:
            self.installments[(key, seq)] = _Installment(due_date, amount, missed, reminded_on)
            return
        known.due_date = known.due_date if known.due_date is not None else due_date
        known.amount_due = known.amount_due if known.amount_due is not None else amount
        known.missed = known.missed or missed
        if reminded_on is not None:
            known.reminded_on = reminded_on if known.reminded_on is None else min(known.reminded_on, reminded_on)


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


def _folds(data: BaseModel) -> bool:
    """True for the events that change a loan's terms or facts (and so its intervals)."""
    return isinstance(
        data,
        repayment.LoanRegisteredV1
        | repayment.PaymentReceivedV1
        | repayment.PaymentReversedV1
        | repayment.PaymentMissedV1
        | repayment.DelinquencyChangedV1
        | repayment.LoanCuredV1
        | repayment.LoanClosedV1
        | repayment.LoanRescheduledV1
        | risk.ClassificationChangedV1,
    )


async def loan_keys(session: AsyncSession, *, loan_ids: Iterable[str], lock: bool = False) -> dict[str, int]:
    """Surrogate keys of `loan_ids`, creating placeholder loans for ids not seen yet; `lock` their rows."""
    wanted = sorted(set(loan_ids))
    if not wanted:
        return {}
    connection = await driver_connection(session)
    query = _LOCKED_KEYS if lock else _KNOWN_KEYS
    keys = {row["loan_id"]: row["loan_key"] for row in await connection.fetch(query, wanted)}
    if len(keys) < len(wanted):
        await connection.execute(_NEW_KEYS, [loan_id for loan_id in wanted if loan_id not in keys])
        keys = {row["loan_id"]: row["loan_key"] for row in await connection.fetch(query, wanted)}
    return keys


def _collect(changes: _Changes, envelope: Envelope, data: BaseModel) -> None:
    """Add what one event writes to `changes`."""
    day = _business_date(envelope)
    keys = changes.keys
    match data:
        case repayment.LoanRegisteredV1():
            key = changes.touch(data.loan_id, data.disbursed_on, from_the_start=True)
            changes.registrations[key] = (
                key,
                data.customer_id,
                data.product,
                data.branch,
                data.currency,
                data.principal,
                data.disbursed_on,
                month_start(data.disbursed_on),
            )
        case repayment.PaymentReceivedV1():
            effective = min(data.value_date, day)
            key = changes.touch(data.loan_id, effective)
            changes.fact(
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
        case repayment.PaymentReversedV1():
            effective = min(data.value_date, day)
            # The payment it undoes may be effective before any day this run changed: fold it all.
            key = changes.touch(data.loan_id, effective, from_the_start=True)
            changes.fact(
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
        case repayment.PaymentMissedV1():
            key = changes.touch(data.loan_id, day)
            changes.installment(
                key, data.installment_seq, due_date=data.due_date, amount=data.amount_overdue, missed=True
            )
            changes.fact(envelope, key, FactKind.STATE, day, dpd_anchor=anchor_of(day, data.dpd))
        case repayment.DelinquencyChangedV1():
            key = changes.touch(data.loan_id, day)
            changes.fact(
                envelope,
                key,
                FactKind.STATE,
                day,
                dpd_anchor=anchor_of(day, data.dpd),
                outstanding_total=data.outstanding,
                overdue=data.overdue_amount,
            )
        case repayment.LoanCuredV1():
            key = changes.touch(data.loan_id, data.cured_on)
            changes.fact(
                envelope, key, FactKind.STATE, data.cured_on, outstanding_total=data.outstanding, overdue=Decimal(0)
            )
        case repayment.LoanClosedV1():
            key = changes.touch(data.loan_id, data.closed_on)
            changes.fact(envelope, key, FactKind.CLOSED, data.closed_on)
        case repayment.LoanRescheduledV1():
            key = changes.touch(data.loan_id, data.restructured_on)
            changes.fact(
                envelope,
                key,
                FactKind.RESCHEDULE,
                data.restructured_on,
                principal_reset=data.outstanding_principal,
                overdue=Decimal(0),
            )
        case repayment.PaymentDueV1():
            changes.installment(
                keys[data.loan_id], data.installment_seq, due_date=data.due_date, amount=data.amount_due
            )
        case risk.ClassificationChangedV1():
            key = changes.touch(data.loan_id, day)
            changes.fact(envelope, key, FactKind.CLASSIFICATION, day, class_rank=class_rank(data.to_classification))
        case risk.RiskScoreChangedV1():
            changes.upsert(_SCORE, (keys[data.loan_id], data.score, data.pd, data.grade, data.model_version, day))
        case risk.RiskAlertRaisedV1():
            changes.upsert(
                _ALERT_RAISED,
                (
                    data.alert_id,
                    data.rule_id,
                    data.severity.value,
                    data.subject_type.value,
                    data.subject_id,
                    day,
                ),
            )
        case risk.RiskAlertResolvedV1():
            changes.upsert(
                _ALERT_RESOLVED,
                (
                    data.alert_id,
                    data.rule_id,
                    data.subject_type.value,
                    data.subject_id,
                    day,
                    data.resolution.value,
                ),
            )
        case crm.ReminderSentV1():
            reminded = keys.get(data.loan_id) if data.loan_id else None
            changes.upsert(_REMINDER, (data.reminder_id, reminded, data.channel.value, day))
            if reminded is not None and data.installment_seq is not None:
                changes.installment(
                    reminded, data.installment_seq, due_date=data.due_date, amount=data.amount_due, reminded_on=day
                )
        case crm.ContactAttemptedV1():
            changes.upsert(
                _CONTACT,
                (
                    data.interaction_id,
                    keys.get(data.loan_id) if data.loan_id else None,
                    data.case_id,
                    data.agent_id,
                    data.channel.value,
                    data.connected,
                    is_right_party(connected=data.connected, party=data.party.value, outcome=data.outcome.value),
                    data.outcome.value,
                    day,
                ),
            )
        case crm.PromiseToPayMadeV1():
            changes.upsert(
                _PROMISE_MADE,
                (
                    data.promise_id,
                    keys[data.loan_id],
                    data.case_id,
                    data.agent_id,
                    data.amount,
                    data.promised_date,
                    day,
                ),
            )
        case crm.PromiseKeptV1() | crm.PromiseBrokenV1():
            kept = isinstance(data, crm.PromiseKeptV1)
            changes.upsert(
                _PROMISE_RESOLVED,
                (
                    data.promise_id,
                    keys[data.loan_id],
                    data.case_id,
                    data.amount,
                    data.promised_date,
                    data.promised_date,
                    "kept" if kept else "broken",
                    data.kept_on if isinstance(data, crm.PromiseKeptV1) else day,
                    data.amount_paid,
                ),
            )
        case crm.CaseOpenedV1():
            changes.upsert(_CASE_OPENED, (data.case_id, keys[data.loan_id], data.queue.value, data.assignee, day))
        case crm.CaseClosedV1():
            changes.upsert(
                _CASE_CLOSED,
                (
                    data.case_id,
                    keys[data.loan_id],
                    "unknown",
                    data.closed_on,
                    data.closed_on,
                    data.reason.value,
                    data.amount_collected,
                ),
            )


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows turned into one list per column (the unnest() parameters)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


async def _write(session: AsyncSession, changes: _Changes) -> None:
    connection = await driver_connection(session)
    if changes.registrations:
        await connection.execute(_REGISTER, *_columns(list(changes.registrations.values()), len(_REGISTRATION_COLUMNS)))
    for spec, rows in changes.upserts:
        await connection.execute(spec.sql, *_columns(spec.collapse(rows), len(spec.columns)))
    if changes.installments:
        rows = [
            (key, seq, i.due_date, i.amount_due, i.missed, i.reminded_on)
            for (key, seq), i in changes.installments.items()
        ]
        await connection.execute(_UPSERT_INSTALLMENTS, *_columns(rows, len(_INSTALLMENT_COLUMNS)))
    if changes.facts:
        await connection.execute(_INSERT_FACTS, *_columns(changes.facts, len(_FACT_COLUMNS)))


def _prior(row: Any) -> Prior | None:
    """Where the fold of `row`'s loan resumes, or None when it starts from the start."""
    if row["since"] == FROM_THE_START or row["valid_from"] is None:
        return None
    return Prior(
        since=row["since"],
        interval=Interval(
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            dpd_anchor=row["dpd_anchor"],
            principal=row["principal"],
            outstanding_total=row["outstanding_total"],
            overdue=row["overdue"],
            class_rank=row["class_rank"],
        ),
        order=row["prior_order"],
        reversed_ids=frozenset(row["reversed_ids"] or ()),
    )


def _facts(row: Any) -> list[Fact]:
    """The facts a `_LOANS_TO_FOLD` row carries."""
    return [
        Fact(FactKind(kind), effective, seq, anchor, outstanding, overdue, paid, reset, repayment_id, rank)
        for seq, kind, effective, anchor, outstanding, overdue, paid, reset, _, repayment_id, rank in row["facts"] or ()
    ]


async def refold(session: AsyncSession, *, refold_from: Mapping[int, date], stale_from: date | None = None) -> None:
    """Rebuild the state intervals of the registered loans among `refold_from` from the day given for each.

    The intervals ending before that day stay; `FROM_THE_START` rebuilds them all from every fact.
    The snapshots from `stale_from` on are marked stale in the same round trip.
    """
    if not refold_from:
        if stale_from is not None:
            await snapshots.mark_stale(session, since=stale_from)
        return
    connection = await driver_connection(session)
    keys = sorted(refold_from)
    loaded = await connection.fetch(_LOANS_TO_FOLD, keys, [refold_from[key] for key in keys])
    rows = {row["loan_key"]: row for row in loaded}
    priors: dict[int, Prior | None] = {}
    for key, row in rows.items():
        prior = _prior(row)
        priors[key] = prior if prior is not None and prior.resumable else None
        if priors[key] is None and row["resumable"]:  # only the facts from `since` came: fetch them all
            [rows[key]] = await connection.fetch(_LOANS_TO_FOLD, [key], [FROM_THE_START])
    folded = []
    for key, row in rows.items():
        terms = LoanTerms(principal=row["terms_principal"], disbursed_on=row["disbursed_on"])
        for interval in build_intervals(terms, _facts(row), priors[key]):
            folded.append(
                (
                    key,
                    interval.valid_from,
                    interval.valid_to,
                    interval.dpd_anchor,
                    interval.principal,
                    interval.outstanding_total,
                    interval.overdue,
                    interval.class_rank,
                    row["product"],
                    row["branch"],
                    row["vintage"],
                )
            )
    rebuilt_from = [prior.interval.valid_from if (prior := priors[key]) else FROM_THE_START for key in rows]
    await connection.execute(
        _REPLACE_INTERVALS, list(rows), rebuilt_from, *_columns(folded, len(_INTERVAL_COLUMNS)), stale_from
    )


async def apply_events(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """Apply a run of events in one transaction (the consumer's batch handler for every type)."""
    parsed = [(envelope, _parse(envelope)) for envelope in envelopes]
    day_closes = [d for _, d in parsed if isinstance(d, repayment.DayClosedV1)]
    others = [(e, d) for e, d in parsed if not isinstance(d, repayment.DayClosedV1)]
    keys = await loan_keys(
        session,
        loan_ids=(i for _, d in others if (i := _loan_id(d)) is not None),
        lock=any(_folds(d) for _, d in others),
    )
    changes = _Changes(keys=keys)
    for envelope, data in others:
        _collect(changes, envelope, data)
    await _write(session, changes)
    await refold(session, refold_from=changes.refold_from, stale_from=changes.changed_from)
    for day_closed in day_closes:
        await snapshots.record_day_close(
            session,
            business_date=day_closed.business_date,
            partition=day_closed.partition,
            partitions=day_closed.partitions,
        )


def batch_handlers() -> Mapping[str, BatchHook]:
    """The consumer's batch handlers: every event type reporting learns from."""
    types = [m.event_type for m in (*repayment.EVENTS, *risk.EVENTS, *crm.EVENTS)]
    return dict.fromkeys(types, apply_events)
