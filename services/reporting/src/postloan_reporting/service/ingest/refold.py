"""Refold the touched loans' state intervals from the earliest day a run of events changed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.domain.intervals import Fact, FactKind, Interval, LoanTerms, Prior, build_intervals
from postloan_reporting.service.ingest.changes import FROM_THE_START
from postloan_reporting.store import intervals as store
from postloan_reporting.store import snapshots


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
    """The facts a `store.loans_to_fold` row carries."""
    return [
        Fact(FactKind(kind), effective, seq, anchor, outstanding, overdue, paid, reset, repayment_id, rank)
        for seq, kind, effective, anchor, outstanding, overdue, paid, reset, _, repayment_id, rank in row["facts"] or ()
    ]


def _folded_rows(key: int, row: Any, prior: Prior | None) -> list[tuple[Any, ...]]:
    """The interval rows of one loan, in `store.INTERVAL_COLUMNS` order."""
    terms = LoanTerms(principal=row["terms_principal"], disbursed_on=row["disbursed_on"])
    return [
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
        for interval in build_intervals(terms, _facts(row), prior)
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
    await snapshots.hold_off_builds(session)
    keys = sorted(refold_from)
    loaded = await store.loans_to_fold(session, keys=keys, since=[refold_from[key] for key in keys])
    rows = {row["loan_key"]: row for row in loaded}
    priors: dict[int, Prior | None] = {}
    for key, row in rows.items():
        prior = _prior(row)
        priors[key] = prior if prior is not None and prior.resumable else None
        if priors[key] is None and row["resumable"]:  # only the facts from `since` came: fetch them all
            [rows[key]] = await store.loans_to_fold(session, keys=[key], since=[FROM_THE_START])
    folded = [interval for key, row in rows.items() for interval in _folded_rows(key, row, priors[key])]
    rebuilt_from = [prior.interval.valid_from if (prior := priors[key]) else FROM_THE_START for key in rows]
    await store.replace_intervals(
        session, keys=list(rows), rebuilt_from=rebuilt_from, rows=folded, stale_from=stale_from
    )
