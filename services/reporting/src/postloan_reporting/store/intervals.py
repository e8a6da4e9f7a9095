"""State intervals: what a fold needs per loan in one round trip, and the folded rows written back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_common.db_arrays import array_types, columns_of
from postloan_reporting.domain.intervals import STATE_KINDS, FactKind
from postloan_reporting.store.facts import FACT_VALUES
from postloan_reporting.store.snapshots import mark_stale_sql
from postloan_reporting.store.tables import intervals, loan_facts, loans

_STATE_KIND_LIST = ", ".join(sorted(f"'{kind.value}'" for kind in STATE_KINDS))
# The fields of each fact a fold row carries, in this order.
FACT_FIELDS = ("seq", "kind", "effective_date", *FACT_VALUES)
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
               array_agg(ROW({", ".join(FACT_FIELDS)}) ORDER BY seq)
                   FILTER (WHERE effective_date >= t.since OR NOT {_RESUMABLE}) AS facts
        FROM {loan_facts.name} AS f WHERE f.loan_key = t.loan_key
    ) AS f
"""
INTERVAL_COLUMNS = (
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
_INTERVAL_STATE = INTERVAL_COLUMNS[2:]
_FOLDED = ", ".join(f"${i}::{kind}" for i, kind in enumerate(array_types(intervals, INTERVAL_COLUMNS), start=3))
# A loan's intervals from `valid_from` on become the folded ones ($3 …): those that did not change
# stay as they are, and the deleted rows and the written ones are disjoint, so one statement does;
# it marks the snapshots from the last parameter on stale too (none when NULL).
_REPLACE_INTERVALS = f"""
    WITH stale AS ({mark_stale_sql(f"${len(INTERVAL_COLUMNS) + 3}::date")}), folded AS (
        SELECT * FROM unnest({_FOLDED}) AS n({", ".join(INTERVAL_COLUMNS)})
    ), dropped AS (
        DELETE FROM {intervals.name} AS i USING unnest($1::bigint[], $2::date[]) AS t(loan_key, valid_from)
        WHERE i.loan_key = t.loan_key AND i.valid_from >= t.valid_from
          AND NOT EXISTS (SELECT FROM folded AS n WHERE n.loan_key = i.loan_key AND n.valid_from = i.valid_from)
    )
    INSERT INTO {intervals.name} AS i ({", ".join(INTERVAL_COLUMNS)}) SELECT * FROM folded
    ON CONFLICT (loan_key, valid_from) DO UPDATE
    SET ({", ".join(_INTERVAL_STATE)}) = ROW({", ".join(f"EXCLUDED.{name}" for name in _INTERVAL_STATE)})
    WHERE ({", ".join(f"i.{name}" for name in _INTERVAL_STATE)})
          IS DISTINCT FROM ({", ".join(f"EXCLUDED.{name}" for name in _INTERVAL_STATE)})
"""


async def loans_to_fold(session: AsyncSession, *, keys: Sequence[int], since: Sequence[date]) -> list[Any]:
    """One row per registered loan of `keys`: terms, the interval before its `since`, and its facts."""
    connection = await driver_connection(session)
    return list(await connection.fetch(_LOANS_TO_FOLD, list(keys), list(since)))


async def replace_intervals(
    session: AsyncSession,
    *,
    keys: Sequence[int],
    rebuilt_from: Sequence[date],
    rows: Sequence[tuple[Any, ...]],
    stale_from: date | None,
) -> None:
    """Make each loan's intervals from its `rebuilt_from` on the folded `rows`; mark snapshots stale."""
    connection = await driver_connection(session)
    await connection.execute(
        _REPLACE_INTERVALS, list(keys), list(rebuilt_from), *columns_of(rows, len(INTERVAL_COLUMNS)), stale_from
    )
