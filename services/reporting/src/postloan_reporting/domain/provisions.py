"""ECL, IFRS 9 stage mix and provision coverage (拨备覆盖率).

- stage mix: loans, exposure (outstanding principal) and ECL per IFRS 9 stage of the loans alive at
  the end of a day, each at the latest ECL and stage risk-alert reported on or before it (a loan not
  classified yet counts in stage 1 with no ECL: a performing loan at origination);
- provision coverage = ECL of all loans ÷ NPL balance (substandard + doubtful + loss).
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


def provision_coverage(*, ecl: Decimal, npl_balance: Decimal) -> Decimal | None:
    """拨备覆盖率: ECL of all loans ÷ NPL balance; None when there is no NPL balance."""
    return ratio(ecl, npl_balance)


def provisions(rows: Iterable[StageRow], *, npl_balance: Decimal) -> Provisions:
    """The stage mix (every stage, in order) with its totals and the provision coverage."""
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
    return Provisions(
        stages=stages,
        ecl=money(ecl),
        exposure=money(exposure),
        npl_balance=money(npl_balance),
        provision_coverage=provision_coverage(ecl=ecl, npl_balance=npl_balance),
    )
