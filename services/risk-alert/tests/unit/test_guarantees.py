"""Guarantee features: expiry, a delinquent or non-performing guarantor."""

from __future__ import annotations

from datetime import date

from postloan_risk_alert.domain.guarantees import guarantee_expired, guarantor_delinquent, guarantor_npl


def test_guarantee_features() -> None:
    assert guarantee_expired(valid_until=date(2026, 5, 1), as_of=date(2026, 5, 2))
    assert not guarantee_expired(valid_until=date(2026, 5, 2), as_of=date(2026, 5, 2))
    assert guarantor_delinquent(guarantor_dpd=1) and not guarantor_delinquent(guarantor_dpd=0)
    assert guarantor_npl(guarantor_categories=["normal", "doubtful"])
    assert not guarantor_npl(guarantor_categories=["special_mention"])
