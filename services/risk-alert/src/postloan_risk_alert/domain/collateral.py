"""Collateral (抵押物/质押物): value after haircut, coverage, loan-to-value, the secured LGD, and its warnings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from postloan_common.money import quantize_money, quantize_ratio

FloatArray = npt.NDArray[np.float64]

KINDS = ("real_estate", "vehicle", "deposit", "securities", "equipment", "receivables", "other")
# Haircut on the appraised value by kind, when the collateral names none.
DEFAULT_HAIRCUT: dict[str, Decimal] = {
    "real_estate": Decimal("0.30"),
    "vehicle": Decimal("0.40"),
    "deposit": Decimal("0.00"),
    "securities": Decimal("0.20"),
    "equipment": Decimal("0.50"),
    "receivables": Decimal("0.40"),
    "other": Decimal("0.50"),
}
# Share of the haircut value recovered in default: the secured part's LGD is 1 minus this.
RECOVERY_RATE: dict[str, float] = {
    "real_estate": 0.80,
    "vehicle": 0.65,
    "deposit": 0.95,
    "securities": 0.75,
    "equipment": 0.50,
    "receivables": 0.55,
    "other": 0.40,
}
# A valuation older than this (months) is stale.
REVALUATION_MONTHS: dict[str, int] = {
    "real_estate": 12,
    "vehicle": 12,
    "deposit": 12,
    "securities": 6,
    "equipment": 12,
    "receivables": 6,
    "other": 12,
}
INSURANCE_NOTICE_DAYS = 30


def haircut_value(*, value: Decimal, haircut: Decimal) -> Decimal:
    """The value the bank counts on: the appraisal less the haircut, rounded to cents."""
    return quantize_money(value * (Decimal(1) - haircut))


def haircut_value_sql(*, value: str, haircut: str) -> str:
    """`haircut_value` as SQL over numeric columns (PostgreSQL's round is half away from zero, like ROUND_HALF_UP)."""
    return f"round(({value}) * (1 - ({haircut})), 2)"


def secured_value(items: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """A loan's secured value: Σ haircut value of its collateral's (allocated value, haircut); 0 without any."""
    return sum((haircut_value(value=v, haircut=h) for v, h in items), Decimal(0))


def coverage_changed(*, published: Decimal | None, secured: Decimal) -> bool:
    """`collateral-coverage-changed` is due when the secured value differs from the last emitted (never: 0)."""
    return secured != (published if published is not None else Decimal(0))


def allocation_fits(*, allocated: Decimal, value: Decimal) -> bool:
    """An allocation to a loan is positive and at most the collateral's value."""
    return Decimal(0) < allocated <= value


def coverage(*, collateral_value: Decimal, exposure: Decimal) -> Decimal | None:
    """Collateral value after haircut ÷ exposure (None without exposure)."""
    if exposure <= 0:
        return None
    return quantize_ratio(collateral_value / exposure, 4)


def loan_to_value(*, exposure: Decimal, appraised: Decimal) -> Decimal | None:
    """Exposure ÷ the appraised value allocated to the loan (None without collateral)."""
    if appraised <= 0:
        return None
    return quantize_ratio(exposure / appraised, 4)


def secured_lgd(kind: str) -> float:
    """The LGD of the part of a loan a kind of collateral secures."""
    return 1.0 - RECOVERY_RATE.get(kind, RECOVERY_RATE["other"])


def blended_lgd(
    *, exposure: FloatArray, secured_value: FloatArray, secured_loss: FloatArray, unsecured_lgd: FloatArray
) -> FloatArray:
    """LGD of each loan: the secured part at its collateral's LGD, the rest at the unsecured LGD.

    `secured_loss` is Σ haircut value × the kind's LGD over the loan's collateral; the secured part
    is capped at the exposure.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        secured = np.minimum(np.nan_to_num(secured_value), exposure)
        per_unit = np.where(secured_value > 0, np.nan_to_num(secured_loss) / secured_value, 0.0)
        blended = np.where(
            exposure > 0, (secured * per_unit + (exposure - secured) * unsecured_lgd) / exposure, unsecured_lgd
        )
    return np.where(secured > 0, blended, unsecured_lgd)


def revaluation_due(*, kind: str, valued_on: date, as_of: date) -> bool:
    """A valuation older than its kind's revaluation period (12 months real estate, 6 securities) is stale."""
    months = REVALUATION_MONTHS.get(kind, 12)
    return valued_on + timedelta(days=round(months * 30.4375)) < as_of


def insurance_expiring(*, expires_on: date | None, as_of: date) -> bool:
    """Insurance expiring within 30 days (or expired) needs renewing."""
    return expires_on is not None and expires_on <= as_of + timedelta(days=INSURANCE_NOTICE_DAYS)


def revaluation_days_sql(kind: str) -> str:
    """`revaluation_due`'s period in days as SQL over a kind column."""
    cases = " ".join(f"WHEN '{k}' THEN {round(m * 30.4375)}" for k, m in REVALUATION_MONTHS.items())
    return f"(CASE {kind} {cases} ELSE {round(12 * 30.4375)} END)"


def secured_lgd_sql(kind: str) -> str:
    """`secured_lgd` as SQL over a kind column."""
    cases = " ".join(f"WHEN '{k}' THEN {1.0 - r!r}" for k, r in RECOVERY_RATE.items())
    return f"(CASE {kind} {cases} ELSE {secured_lgd('other')!r} END)"
