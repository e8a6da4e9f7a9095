"""SQL shared by snapshots and reports: DPD, bucket and classification of an interval on a date."""

from __future__ import annotations

from datetime import date

from postloan_reporting.domain.model import BUCKET_UPPER, FLOOR_THRESHOLDS


def dpd_sql(day: str) -> str:
    """SQL for an interval's DPD on the date bound as `:{day}` (0 when current)."""
    bound = f"CAST(:{day} AS date)"
    return f"(CASE WHEN dpd_anchor IS NULL OR dpd_anchor >= {bound} THEN 0 ELSE {bound} - dpd_anchor END)"


def bucket_sql(dpd: str) -> str:
    """SQL for the bucket index of a DPD expression."""
    whens = " ".join(f"WHEN {dpd} <= {upper} THEN {i}" for i, upper in enumerate(BUCKET_UPPER))
    return f"(CASE {whens} ELSE {len(BUCKET_UPPER)} END)"


def class_sql(dpd: str) -> str:
    """SQL for the reported classification worsened to the DPD floor."""
    whens = " ".join(f"WHEN {dpd} > {threshold} THEN {rank}" for threshold, rank in FLOOR_THRESHOLDS)
    return f"GREATEST(class_rank, CASE {whens} ELSE 0 END)"


def filters_sql(product: str | None, branch: str | None, prefix: str = "") -> str:
    """AND clauses for the optional product and branch filters (bound as :product, :branch)."""
    clauses = []
    if product is not None:
        clauses.append(f" AND {prefix}product = :product")
    if branch is not None:
        clauses.append(f" AND {prefix}branch = :branch")
    return "".join(clauses)


def aggregate_sql(*, product: str | None = None, branch: str | None = None) -> str:
    """Aggregate rows of the intervals alive at the end of :day (the body of a daily snapshot)."""
    dpd = dpd_sql("day")
    return f"""
        SELECT product, branch, vintage, {bucket_sql("dpd")} AS bucket, {class_sql("dpd")} AS class_rank,
               count(*) AS loans, sum(principal) AS principal, sum(outstanding_total) AS outstanding_total,
               sum(overdue) AS overdue
        FROM (SELECT product, branch, vintage, class_rank, principal, outstanding_total, overdue, {dpd} AS dpd
              FROM rpt_interval
              WHERE valid_from <= CAST(:day AS date) AND valid_to > CAST(:day AS date)
                    {filters_sql(product, branch)}) AS alive
        GROUP BY 1, 2, 3, 4, 5
    """


def loan_buckets_sql(day: str, *, product: str | None, branch: str | None) -> str:
    """Each loan alive at the end of `:{day}` with its bucket and balance."""
    dpd = dpd_sql(day)
    return f"""
        SELECT loan_key, {bucket_sql(dpd)} AS bucket, principal
        FROM rpt_interval
        WHERE valid_from <= CAST(:{day} AS date) AND valid_to > CAST(:{day} AS date){filters_sql(product, branch)}
    """


def roll_rate_sql(*, product: str | None, branch: str | None) -> str:
    """Loans and balance (on :d1) by bucket on :d1 and bucket on :d2 (NULL: closed by :d2)."""
    return f"""
        SELECT a.bucket AS from_bucket, b.bucket AS to_bucket, count(*) AS loans, sum(a.principal) AS balance
        FROM ({loan_buckets_sql("d1", product=product, branch=branch)}) AS a
        LEFT JOIN ({loan_buckets_sql("d2", product=None, branch=None)}) AS b USING (loan_key)
        GROUP BY 1, 2
    """


def as_params(day: date, product: str | None, branch: str | None) -> dict[str, object]:
    """Bind parameters for `aggregate_sql`."""
    params: dict[str, object] = {"day": day}
    if product is not None:
        params["product"] = product
    if branch is not None:
        params["branch"] = branch
    return params
