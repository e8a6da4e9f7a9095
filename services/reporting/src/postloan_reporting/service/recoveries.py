"""The recoveries report: written off and recovered by product, branch and cohort; agencies' commission."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.domain.recoveries import (
    AgencyRow,
    RecoverySlice,
    agency_rows,
    cohort_of,
    recovery_slice,
    recovery_slices,
)
from postloan_reporting.service.reports import Filters
from postloan_reporting.store import recoveries as store


@dataclass(frozen=True, slots=True)
class RecoveriesReport:
    start: date
    end: date
    total: RecoverySlice
    by_product: list[RecoverySlice]
    by_branch: list[RecoverySlice]
    by_cohort: list[RecoverySlice]
    agencies: list[AgencyRow]


async def recoveries_report(session: AsyncSession, *, start: date, end: date, filters: Filters) -> RecoveriesReport:
    """Loans written off in `start`..`end` with what came back by `end`, and each agency's placements."""
    product, branch = filters.product, filters.branch
    rows = await store.written_off(session, start=start, end=end, product=product, branch=branch)
    placed = await store.placements(session, start=start, end=end, product=product, branch=branch)
    keys = sorted({p.loan_key for p in placed})
    received = await store.received(session, loan_keys=keys, start=start, end=end)
    return RecoveriesReport(
        start=start,
        end=end,
        total=recovery_slice("all", rows),
        by_product=recovery_slices(rows, lambda r: r.product),
        by_branch=recovery_slices(rows, lambda r: r.branch),
        by_cohort=recovery_slices(rows, lambda r: cohort_of(r.written_off_on)),
        agencies=agency_rows(placed, received, start=start, end=end),
    )
