"""ECL, IFRS 9 stage mix and provision coverage (拨备覆盖率).

- stage mix: loans, exposure (outstanding principal) and ECL per IFRS 9 stage of the loans alive at
  the end of a day, each at the latest ECL and stage risk-alert reported on or before it (a loan not
  classified yet counts in stage 1 with no ECL: a performing loan at origination);
- provision coverage = ECL of all loans ÷ NPL balance (substandard + doubtful + loss);
- NPL collateral coverage = Σ over the NPL loans of min(secured value, outstanding) ÷ NPL balance, each
  loan's secured value the latest risk-alert reported on or before the day (none reported: 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from postloan_reporting.domain.ratios import ZERO, money, ratio

STAGES: tuple[int, ...] = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class StageRow:
    """Loans, exposure and ECL of one IFRS 9 stage (a group of loans as read from the store)."""

    stage: int
    loans: int
    exposure: Decimal
    ecl: Decimal


@dataclass(frozen=True, slots=True)
class SecuredNpl:
    """An NPL loan's outstanding principal and secured value (its collateral after haircut)."""

    outstanding: Decimal
    secured_value: Decimal


@dataclass(frozen=True, slots=True)
class StageSlice:
    stage: int
    loans: int
    exposure: Decimal
    ecl: Decimal
    exposure_share: Decimal | None
    coverage: Decimal | None  # ECL ÷ exposure of the stage


@dataclass(frozen=True, slots=True)
class Provisions:
    stages: list[StageSlice]
    ecl: Decimal
    exposure: Decimal
    npl_balance: Decimal
    provision_coverage: Decimal | None
    npl_secured: Decimal = ZERO  # Σ min(secured value, outstanding) over the NPL loans
    npl_collateral_coverage: Decimal | None = None


def provision_coverage(*, ecl: Decimal, npl_balance: Decimal) -> Decimal | None:
    """拨备覆盖率: ECL of all loans ÷ NPL balance; None when there is no NPL balance."""
    return ratio(ecl, npl_balance)


def npl_secured(loans: Iterable[SecuredNpl]) -> Decimal:
    """The NPL balance collateral covers: Σ min(secured value, outstanding), a loan covered at most in full."""
    return sum((min(max(loan.secured_value, ZERO), loan.outstanding) for loan in loans), ZERO)


def npl_collateral_coverage(*, secured: Decimal, npl_balance: Decimal) -> Decimal | None:
    """NPL coverage by collateral: the NPL balance collateral covers ÷ NPL balance; None without NPL balance."""
    return ratio(secured, npl_balance)


def provisions(
    rows: Iterable[StageRow], *, npl_balance: Decimal, secured_npls: Iterable[SecuredNpl] = ()
) -> Provisions:
    """The stage mix (every stage, in order) with its totals, the provision and the NPL collateral coverage."""
    totals = {stage: StageRow(stage, 0, ZERO, ZERO) for stage in STAGES}
    for row in rows:
        known = totals[row.stage]
        totals[row.stage] = StageRow(
            row.stage, known.loans + row.loans, known.exposure + row.exposure, known.ecl + row.ecl
        )
    exposure = sum((r.exposure for r in totals.values()), ZERO)
    ecl = sum((r.ecl for r in totals.values()), ZERO)
    stages = [
        StageSlice(
            r.stage, r.loans, money(r.exposure), money(r.ecl), ratio(r.exposure, exposure), ratio(r.ecl, r.exposure)
        )
        for r in totals.values()
    ]
    covered = npl_secured(secured_npls)
    return Provisions(
        stages=stages,
        ecl=money(ecl),
        exposure=money(exposure),
        npl_balance=money(npl_balance),
        provision_coverage=provision_coverage(ecl=ecl, npl_balance=npl_balance),
        npl_secured=money(covered),
        npl_collateral_coverage=npl_collateral_coverage(secured=covered, npl_balance=npl_balance),
    )
