"""Recoveries: a repayment on a written-off loan is accepted as a recovery, never allocated."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from postloan_repayment_monitor.domain.posting import LoanTerms, Rejection, posting_refusal
from postloan_repayment_monitor.domain.recovery import RECOVERED, is_recovery, repayment_status

WRITTEN_OFF = LoanTerms(loan_id="L-1", status="written_off", currency="CNY", disbursed_on=date(2026, 1, 5))
TODAY = date(2026, 9, 1)


def _post(loan: LoanTerms, **overrides):
    fields = {"loan_id": "L-1", "amount": Decimal("50.00"), "currency": None, "value_date": TODAY}
    return posting_refusal(loan, business_date=TODAY, **(fields | overrides))


def test_only_a_written_off_loan_takes_recoveries():
    assert is_recovery("written_off") is True
    assert [is_recovery(s) for s in ("active", "closed")] == [False, False]


def test_a_recovery_is_stored_apart_from_the_postings_a_replay_allocates():
    assert repayment_status("written_off") == RECOVERED
    assert repayment_status("active") == "posted"


def test_a_repayment_on_a_written_off_loan_is_no_longer_refused():
    assert _post(WRITTEN_OFF) is None


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"amount": Decimal("0")}, Rejection.AMOUNT_NOT_POSITIVE),
        ({"currency": "USD"}, Rejection.WRONG_CURRENCY),
        ({"value_date": date(2026, 9, 2)}, Rejection.VALUE_DATE_IN_FUTURE),
    ],
)
def test_a_recovery_obeys_the_other_posting_rules(overrides, code):
    refusal = _post(WRITTEN_OFF, **overrides)
    assert refusal is not None and refusal.code == code


def test_a_closed_loan_still_refuses_repayments():
    closed = LoanTerms(loan_id="L-1", status="closed", currency="CNY", disbursed_on=date(2026, 1, 5))
    refusal = _post(closed)
    assert refusal is not None and refusal.code == Rejection.LOAN_CLOSED
