"""Guarantees (担保): when a guarantee stops protecting a loan (the loan features the guarantee rules test).

The close-of-day SQL (store/loan_reads.py, lateral `gu`) computes the same per loan over all its guarantees.
"""

from __future__ import annotations

from datetime import date

KINDS = ("personal", "corporate", "joint_and_several")


def guarantee_expired(*, valid_until: date, as_of: date) -> bool:
    """A guarantee whose validity ended before the business date, while the loan is open."""
    return valid_until < as_of


def guarantor_delinquent(*, guarantor_dpd: int) -> bool:
    """The guarantor, a borrower here too, is past due on any of its own loans."""
    return guarantor_dpd > 0


def guarantor_npl(*, guarantor_categories: list[str]) -> bool:
    """The guarantor has a non-performing loan here (substandard or worse)."""
    return any(c in ("substandard", "doubtful", "loss") for c in guarantor_categories)
