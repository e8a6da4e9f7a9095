"""Recoveries: money that comes in on a loan after it was written off."""

from __future__ import annotations

WRITTEN_OFF = "written_off"
# The repayments row of a recovery: never "posted", so no replay of the loan ever allocates it.
RECOVERED = "recovered"


def is_recovery(loan_status: str) -> bool:
    """A repayment on a written-off loan is a recovery: recorded and announced, never allocated or re-activating."""
    return loan_status == WRITTEN_OFF


def repayment_status(loan_status: str) -> str:
    """The status a new repayment is stored with on a loan in `loan_status`."""
    return RECOVERED if is_recovery(loan_status) else "posted"
