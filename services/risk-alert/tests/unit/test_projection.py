"""Folding a restructuring into the projection: the new schedule starts observation and replaces the arrears."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from postloan_common.contracts import LoanRescheduledV1
from postloan_risk_alert.domain import projection


def _rescheduled(dpd_before: int) -> LoanRescheduledV1:
    """A loan-rescheduled event as the consumer parses it: 13 monthly installments from 10 June 2026."""
    data = {
        "loan_id": "L-1",
        "customer_id": "C-1",
        "restructure_id": "R-1",
        "restructured_on": "2026-05-10",
        "reason": "hardship",
        "outstanding_principal": "8000.00",
        "installment_count": 13,
        "first_due_date": "2026-06-10",
        "maturity_date": "2027-06-10",
        "dpd_before": dpd_before,
        "bucket_before": "M1",
    }
    return LoanRescheduledV1.model_validate(data)


def _late_state() -> dict[str, Any]:
    return {"overdue": Decimal("900.00"), "consecutive_misses": 3, "restructure_count": 1, "episode_started_on": None}


@pytest.mark.parametrize(
    ("dpd_before", "category", "floor"),
    [(0, None, "normal"), (45, None, "special_mention"), (91, "normal", "substandard"), (10, "doubtful", "doubtful")],
)
def test_a_restructuring_restarts_observation_and_keeps_the_worse_of_its_category_and_dpd_floor(
    dpd_before: int, category: str | None, floor: str
) -> None:
    state = _late_state()
    projection.rescheduled(state, _rescheduled(dpd_before), category=category)
    assert state["restructured"] is True and state["restructure_count"] == 2
    assert state["restructured_on"] == date(2026, 5, 10)
    assert state["observation_start"] == date(2026, 6, 10)
    assert (state["installment_count"], state["maturity_date"]) == (13, date(2027, 6, 10))
    assert state["period_days"] == 30
    assert state["outstanding"] == Decimal("8000.00")
    assert state["overdue"] == Decimal(0) and state["consecutive_misses"] == 0
    assert state["category_at_restructure"] == projection.CATEGORY_OF[floor]
