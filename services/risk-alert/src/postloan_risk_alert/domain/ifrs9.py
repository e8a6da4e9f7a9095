"""IFRS 9 staging and expected credit loss, vectorised.

Amounts travel as integer cents (exact); PD and LGD are model estimates (floats). ECL is rounded
half-up to the cent and returned as cents, so callers turn it into Decimal without float money.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from postloan_risk_alert.domain.classification import SUBSTANDARD

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# LGD by "product:collateral"; "*" matches any product. The most specific entry wins.
DEFAULT_LGD: dict[str, float] = {
    "*:none": 0.45,
    "*:guarantee": 0.40,
    "*:vehicle": 0.35,
    "*:real_estate": 0.25,
    "*:deposit": 0.05,
}
FALLBACK_LGD = 0.45


@dataclass(frozen=True)
class Ifrs9Policy:
    """Staging backstops, the stage 2 PD-deterioration test and the LGD table."""

    stage2_dpd: int = 30
    stage3_dpd: int = 90
    # Significant increase in credit risk: PD ≥ ratio × PD at origination and up by at least `min_increase`.
    sicr_pd_ratio: float = 2.0
    sicr_min_increase: float = 0.02
    lgd: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_LGD))

    def lgd_for(self, product: str, collateral: str) -> float:
        """The LGD of a product and collateral type."""
        for key in (f"{product}:{collateral}", f"*:{collateral}", f"{product}:*", "*:*"):
            if key in self.lgd:
                return float(self.lgd[key])
        return FALLBACK_LGD


def stage(
    *,
    dpd: IntArray,
    category: IntArray,
    pd: FloatArray,
    pd_origination: FloatArray,
    policy: Ifrs9Policy = Ifrs9Policy(),
) -> IntArray:
    """1, 2 or 3: stage 3 at DPD > 90 or NPL, stage 2 at DPD > 30 or a significant PD increase."""
    sicr = (pd >= policy.sicr_pd_ratio * pd_origination) & (pd - pd_origination >= policy.sicr_min_increase)
    result = np.ones(len(dpd), dtype=np.int64)
    result[(dpd > policy.stage2_dpd) | sicr] = 2
    result[(dpd > policy.stage3_dpd) | (category >= SUBSTANDARD)] = 3
    return result


def horizon_pd(*, stage: IntArray, pd12: FloatArray, remaining_years: FloatArray) -> FloatArray:
    """The PD over the ECL horizon: 12 months (stage 1), the remaining life (stage 2), 1 (stage 3).

    A constant annual hazard gives lifetime PD = 1 − (1 − PD12)^years.
    """
    years = np.maximum(remaining_years, 1 / 12)
    lifetime = 1.0 - np.power(1.0 - np.clip(pd12, 0.0, 1.0), years)
    twelve_month = 1.0 - np.power(1.0 - np.clip(pd12, 0.0, 1.0), np.minimum(years, 1.0))
    return np.where(stage == 3, 1.0, np.where(stage == 2, lifetime, twelve_month))


def ecl_cents(
    *,
    stage: IntArray,
    pd12: FloatArray,
    lgd: FloatArray,
    ead_cents: IntArray,
    remaining_years: FloatArray,
    annual_rate: FloatArray,
) -> IntArray:
    """ECL = PD × LGD × EAD × discount, in cents.

    Defaults are assumed mid-horizon, so the loss is discounted at the contract rate over half of it.
    """
    pd = horizon_pd(stage=stage, pd12=pd12, remaining_years=remaining_years)
    horizon = np.where(stage == 1, np.minimum(np.maximum(remaining_years, 0.0), 1.0), np.maximum(remaining_years, 0.0))
    discount = np.where(stage == 3, 1.0, np.power(1.0 + np.maximum(annual_rate, 0.0), -horizon / 2))
    return np.floor(pd * lgd * discount * ead_cents + 0.5).astype(np.int64)
