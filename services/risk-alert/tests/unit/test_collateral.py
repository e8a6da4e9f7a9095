"""Collateral rules: haircut, allocation, coverage, LTV, the blended LGD, stale valuations, insurance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import numpy as np
import pytest

from postloan_risk_alert.domain.collateral import (
    allocation_fits,
    blended_lgd,
    coverage,
    coverage_changed,
    haircut_value,
    insurance_expiring,
    loan_to_value,
    revaluation_due,
    secured_lgd,
    secured_value,
)


def test_values_coverage_and_ltv() -> None:
    assert haircut_value(value=D("1000000.00"), haircut=D("0.30")) == D("700000.00")
    assert coverage(collateral_value=D("700000"), exposure=D("500000")) == D("1.4000")
    assert coverage(collateral_value=D("1"), exposure=D("0")) is None
    assert loan_to_value(exposure=D("850000"), appraised=D("1000000")) == D("0.8500")
    assert loan_to_value(exposure=D("1"), appraised=D("0")) is None
    assert allocation_fits(allocated=D("100"), value=D("100"))
    assert not allocation_fits(allocated=D("100.01"), value=D("100"))


def test_secured_part_at_the_kinds_lgd_the_rest_unsecured() -> None:
    lgd = blended_lgd(
        exposure=np.asarray([1000.0, 1000.0, 1000.0]),
        secured_value=np.asarray([500.0, 2000.0, 0.0]),
        secured_loss=np.asarray([500.0 * secured_lgd("real_estate"), 2000.0 * secured_lgd("deposit"), 0.0]),
        unsecured_lgd=np.asarray([0.45, 0.45, 0.45]),
    )
    assert lgd[0] == pytest.approx(0.5 * 0.2 + 0.5 * 0.45)
    assert lgd[1] == pytest.approx(secured_lgd("deposit")), "fully secured: the collateral's LGD only"
    assert lgd[2] == pytest.approx(0.45)


def test_stale_valuations_and_expiring_insurance() -> None:
    assert revaluation_due(kind="securities", valued_on=date(2025, 10, 1), as_of=date(2026, 5, 1))
    assert not revaluation_due(kind="real_estate", valued_on=date(2025, 10, 1), as_of=date(2026, 5, 1))
    assert revaluation_due(kind="real_estate", valued_on=date(2025, 4, 1), as_of=date(2026, 5, 1))
    assert insurance_expiring(expires_on=date(2026, 5, 30), as_of=date(2026, 5, 1))
    assert not insurance_expiring(expires_on=date(2026, 6, 15), as_of=date(2026, 5, 1))
    assert not insurance_expiring(expires_on=None, as_of=date(2026, 5, 1))


def test_secured_value_rounds_each_item_and_emits_on_change() -> None:
    # 500000 × 0.70 = 350000.00; 1000.05 × 0.60 = 600.030 → 600.03; 0.0125 × 0.60 = 0.0075 → 0.01 (half up).
    items = [(D("500000.00"), D("0.30")), (D("1000.05"), D("0.40")), (D("0.0125"), D("0.40"))]
    assert secured_value(items) == D("350600.04")
    assert secured_value([]) == D("0")
    assert coverage_changed(published=None, secured=D("350600.03"))
    assert not coverage_changed(published=D("350600.03"), secured=D("350600.03"))
    assert coverage_changed(published=D("350600.03"), secured=D("0"))
    assert not coverage_changed(published=None, secured=D("0"))
    assert not coverage_changed(published=D("0.00"), secured=D("0"))
