"""Portfolio KPIs from aggregate rows: outstanding, overdue, PAR30, NPL, aging, classification, splits.

Balance is outstanding principal. `overdue_balance` is the principal of loans with DPD > 0 (the
basis of the overdue rate, 逾期贷款余额); `overdue_amount` is the arrears actually past due.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from postloan_reporting.domain.model import BUCKETS, CLASSIFICATIONS, NPL_RANKS
from postloan_reporting.domain.ratios import ZERO, money, ratio

PAR30_FROM_BUCKET = 2  # M2 starts at DPD 31
PAR90_FROM_BUCKET = 4  # M4 starts at DPD 91


@dataclass(frozen=True, slots=True)
class AggRow:
    """Loans sharing product, branch, vintage, bucket and (effective) classification on one date."""

    product: str
    branch: str
    vintage: date | None  # None when summed over vintages
    bucket: int
    class_rank: int
    loans: int
    principal: Decimal
    outstanding_total: Decimal = ZERO
    overdue: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Kpis:
    loans: int
    outstanding: Decimal
    outstanding_total: Decimal
    overdue_loans: int
    overdue_balance: Decimal
    overdue_amount: Decimal
    overdue_rate: Decimal | None
    par30_balance: Decimal
    par30: Decimal | None
    par90_balance: Decimal
    par90: Decimal | None
    npl_balance: Decimal
    npl_ratio: Decimal | None


@dataclass(frozen=True, slots=True)
class Slice:
    """Count, balance and share of gross balance of one bucket / class / product / branch."""

    key: str
    loans: int
    balance: Decimal
    share: Decimal | None
    kpis: Kpis | None = None


@dataclass(frozen=True, slots=True)
class Portfolio:
    kpis: Kpis
    by_bucket: list[Slice] = field(default_factory=list)
    by_classification: list[Slice] = field(default_factory=list)
    by_product: list[Slice] = field(default_factory=list)
    by_branch: list[Slice] = field(default_factory=list)


def kpis(rows: Iterable[AggRow]) -> Kpis:
    """Headline KPIs of the rows."""
    rows = list(rows)
    gross = sum((r.principal for r in rows), ZERO)
    overdue = [r for r in rows if r.bucket > 0]
    par30 = sum((r.principal for r in rows if r.bucket >= PAR30_FROM_BUCKET), ZERO)
    par90 = sum((r.principal for r in rows if r.bucket >= PAR90_FROM_BUCKET), ZERO)
    npl = sum((r.principal for r in rows if r.class_rank in NPL_RANKS), ZERO)
    overdue_balance = sum((r.principal for r in overdue), ZERO)
    return Kpis(
        loans=sum(r.loans for r in rows),
        outstanding=money(gross),
        outstanding_total=money(sum((r.outstanding_total for r in rows), ZERO)),
        overdue_loans=sum(r.loans for r in overdue),
        overdue_balance=money(overdue_balance),
        overdue_amount=money(sum((r.overdue for r in rows), ZERO)),
        overdue_rate=ratio(overdue_balance, gross),
        par30_balance=money(par30),
        par30=ratio(par30, gross),
        par90_balance=money(par90),
        par90=ratio(par90, gross),
        npl_balance=money(npl),
        npl_ratio=ratio(npl, gross),
    )


def _slices(
    rows: list[AggRow], key: Callable[[AggRow], str], order: Iterable[str] | None, *, with_kpis: bool
) -> list[Slice]:
    gross = sum((r.principal for r in rows), ZERO)
    groups: dict[str, list[AggRow]] = {k: [] for k in order or ()}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    names = list(order) if order is not None else sorted(groups)
    result = []
    for name in names:
        members = groups[name]
        balance = sum((r.principal for r in members), ZERO)
        result.append(
            Slice(
                key=name,
                loans=sum(r.loans for r in members),
                balance=money(balance),
                share=ratio(balance, gross),
                kpis=kpis(members) if with_kpis else None,
            )
        )
    return result


def portfolio(rows: Iterable[AggRow]) -> Portfolio:
    """Headline KPIs with aging, classification, product and branch splits."""
    rows = list(rows)
    return Portfolio(
        kpis=kpis(rows),
        by_bucket=_slices(rows, lambda r: BUCKETS[r.bucket], BUCKETS, with_kpis=False),
        by_classification=_slices(rows, lambda r: CLASSIFICATIONS[r.class_rank], CLASSIFICATIONS, with_kpis=False),
        by_product=_slices(rows, lambda r: r.product, None, with_kpis=True),
        by_branch=_slices(rows, lambda r: r.branch, None, with_kpis=True),
    )
