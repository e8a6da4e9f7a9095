"""The recoveries report's reads: write-offs with what came back on them, agency placements and the
money received on placed loans (the rules that combine them are in domain/recoveries.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.domain.intervals import FactKind
from postloan_reporting.domain.recoveries import Placement, Received, WrittenOff
from postloan_reporting.store.queries import filters_sql


def _params(start: date, end: date, product: str | None, branch: str | None) -> dict[str, object]:
    params: dict[str, object] = {"start": start, "end": end}
    if product is not None:
        params["product"] = product
    if branch is not None:
        params["branch"] = branch
    return params


async def written_off(
    session: AsyncSession, *, start: date, end: date, product: str | None, branch: str | None
) -> list[WrittenOff]:
    """Loans written off in `start`..`end` per product, branch and day: their balance then, recovered by `end`.

    The balance written off is the outstanding total of the loan's interval ending on the write-off
    date (the loan's last day open); a loan written off on its disbursement day has none: its principal.
    """
    rows = await session.execute(
        text(
            "SELECT coalesce(l.product, '-') AS product, coalesce(l.branch, '-') AS branch, w.written_off_on,"
            " count(*) AS loans, sum(coalesce(i.outstanding_total, l.principal, 0)) AS written_off,"
            " coalesce(sum(r.recovered), 0) AS recovered"
            " FROM rpt_write_off w JOIN rpt_loan l ON l.loan_key = w.loan_key"
            " LEFT JOIN rpt_interval i ON i.loan_key = w.loan_key AND i.valid_to = w.written_off_on"
            " LEFT JOIN LATERAL (SELECT sum(amount) AS recovered FROM rpt_recovery r"
            "   WHERE r.loan_key = w.loan_key AND r.received_on <= CAST(:end AS date)) r ON true"
            " WHERE w.written_off_on BETWEEN CAST(:start AS date) AND CAST(:end AS date)"
            f"{filters_sql(product, branch, 'l.')} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        ),
        _params(start, end, product, branch),
    )
    return [WrittenOff(r.product, r.branch, r.written_off_on, r.loans, r.written_off, r.recovered) for r in rows]


async def placements(
    session: AsyncSession, *, start: date, end: date, product: str | None, branch: str | None
) -> list[Placement]:
    """The placements that may count in `start`..`end`: placed by its end and not recalled before its start."""
    rows = await session.execute(
        text(
            "SELECT p.placement_id, p.agency_id, p.loan_key, p.commission_rate, p.placed_on, p.recalled_on"
            " FROM rpt_placement p JOIN rpt_loan l ON l.loan_key = p.loan_key"
            " WHERE p.placed_on <= CAST(:end AS date)"
            "   AND (p.recalled_on IS NULL OR p.recalled_on > CAST(:start AS date))"
            f"{filters_sql(product, branch, 'l.')} ORDER BY p.placement_id"
        ),
        _params(start, end, product, branch),
    )
    return [Placement(*r) for r in rows]


async def received(session: AsyncSession, *, loan_keys: list[int], start: date, end: date) -> list[Received]:
    """Money received on `loan_keys` in `start`..`end`: payments never reversed, and recoveries after write-off."""
    if not loan_keys:
        return []
    rows = await session.execute(
        text(
            "SELECT f.loan_key, f.effective_date AS received_on, f.amount FROM rpt_loan_fact f"
            f" WHERE f.loan_key = ANY(:keys) AND f.kind = '{FactKind.PAYMENT.value}'"
            "   AND f.effective_date BETWEEN CAST(:start AS date) AND CAST(:end AS date)"
            "   AND NOT EXISTS (SELECT 1 FROM rpt_loan_fact v WHERE v.loan_key = f.loan_key"
            f"     AND v.kind = '{FactKind.REVERSAL.value}' AND v.repayment_id = f.repayment_id)"
            " UNION ALL"
            " SELECT r.loan_key, r.received_on, r.amount FROM rpt_recovery r"
            " WHERE r.loan_key = ANY(:keys) AND r.received_on BETWEEN CAST(:start AS date) AND CAST(:end AS date)"
            " ORDER BY 1, 2"
        ),
        {"keys": loan_keys, "start": start, "end": end},
    )
    return [Received(*r) for r in rows]
