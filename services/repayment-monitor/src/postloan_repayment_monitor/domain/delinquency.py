"""Days past due and the bucket they fall in: the one rule, in Python and as SQL.

DPD on a day is the number of days since the loan's oldest unpaid due date, never negative, and 0
when nothing is unpaid (docs/domain.md). Set-based paths (close of day, bulk intake) compute it in
SQL; the fragments below are generated from the same rule and tested against the Python functions
on real PostgreSQL (tests/integration/test_delinquency_sql.py).
"""

from __future__ import annotations

from datetime import date

from postloan_repayment_monitor.domain.rules import BucketScheme


def days_past_due(oldest_unpaid_due: date | None, as_of: date) -> int:
    """DPD on `as_of` of a loan whose oldest unpaid installment fell due on `oldest_unpaid_due`."""
    if oldest_unpaid_due is None:
        return 0
    return max(0, (as_of - oldest_unpaid_due).days)


def bucket_of(dpd: int, scheme: BucketScheme) -> str:
    """The name of the bucket of `dpd` under `scheme`."""
    return scheme.bucket_of(dpd)


def bucket_on(oldest_unpaid_due: date | None, as_of: date, scheme: BucketScheme) -> str:
    """The bucket on `as_of` of a loan whose oldest unpaid installment fell due on `oldest_unpaid_due`."""
    return scheme.bucket_of(days_past_due(oldest_unpaid_due, as_of))


def days_past_due_sql(oldest_unpaid_due: str, as_of: str) -> str:
    """SQL for days_past_due over the SQL expressions `oldest_unpaid_due` and `as_of` (both dates)."""
    return f"greatest(0, coalesce(({as_of}) - ({oldest_unpaid_due}), 0))"


def bucket_sql(dpd: str, scheme: BucketScheme) -> str:
    """SQL CASE naming the bucket of the integer SQL expression `dpd` under `scheme`."""
    arms = " ".join(f"WHEN ({dpd}) <= {b.max_dpd} THEN '{b.name}'" for b in scheme.buckets if b.max_dpd is not None)
    return f"(CASE {arms} ELSE '{scheme.buckets[-1].name}' END)"


def bucket_on_sql(oldest_unpaid_due: str, as_of: str, scheme: BucketScheme) -> str:
    """SQL for bucket_on over the SQL expressions `oldest_unpaid_due` and `as_of`."""
    return bucket_sql(days_past_due_sql(oldest_unpaid_due, as_of), scheme)
