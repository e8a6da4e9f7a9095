"""The close-of-day read: the working set of loans, fetched in chunks as packed column arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from postloan_risk_alert.domain import classification as cls
from postloan_risk_alert.domain import collateral, features
from postloan_risk_alert.store import signals

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# A loan is re-scored when its features changed, when time moves its features (overdue, recently
# cured, restructured), when its debtor is non-retail (10% rule), or when the model changed.
WORKING_SET = f"""
    f.status = 'active' AND (
        $4::boolean OR f.dirty OR f.overdue_since IS NOT NULL OR f.last_cured_on >= $1::date - 400
        OR f.restructured OR f.segment <> 'retail' OR s.model_version IS DISTINCT FROM $5
        OR {cls.npl_sql("c.category")}
        OR EXISTS (SELECT 1 FROM collateral_links cl WHERE cl.loan_id = f.loan_id)
        OR EXISTS (SELECT 1 FROM guarantees g WHERE g.loan_id = f.loan_id)
        {signals.IN_FORCE_SQL}
    )
"""

# The columns of one chunk: text columns come as arrays, numbers as packed big-endian binary (one
# bytea per column, decoded by numpy without a Python object per value). NULL numbers: NaN or a default.
TEXT_COLUMNS = {
    "loan_id": "f.loan_id",
    "customer_id": "f.customer_id",
    "product": "f.product",
    "segment": "f.segment",
    "collateral": "f.collateral",
    "published_grade": "s.published_grade",
}
FLOAT_COLUMNS = {
    "overdue": "f.overdue",
    "outstanding": "f.outstanding",
    "annual_rate": "f.annual_rate",
    "days_to_maturity": "coalesce(f.maturity_date - $1::date, 0)",
    "days_since_cure": "$1::date - f.last_cured_on",
    "amount_due": "f.amount_due",
    "amount_paid": "f.amount_paid",
    "payments_count": "f.payments_count",
    "partial_payments": "f.partial_payments",
    "missed_count": "f.missed_count",
    "consecutive_misses": "f.consecutive_misses",
    "broken_promises": "f.broken_promises",
    "promises_kept": "f.promises_kept",
    "contacts": "f.contacts",
    "contacts_negative": "f.contacts_negative",
    "observation_offset": "f.observation_start - $1::date",
    "smonths": "f.months_since_delinquency",
    "debt_ratio": "cf.debt_ratio",
    "current_ratio": "cf.current_ratio",
    "interest_coverage": "cf.interest_coverage",
    "revenue_change": "cf.revenue_change",
    "prev_pd": "s.pd",
    "prev_score": "s.score",
    # Collateral allocated to the loan: appraised, after haircut, and Σ after haircut × the kind's LGD.
    "collateral_appraised": "col.appraised",
    "collateral_value": "col.secured",
    "collateral_loss": "col.loss",
    "published_score": "s.published_score",
    "pd_origination": "s.pd_origination",
}
INT_COLUMNS = {
    "outstanding_cents": "(f.outstanding * 100)::bigint",
    "dpd": features.days_past_due_sql(overdue_since="f.overdue_since", business_date="$1::date"),
    "open_episode": "(f.episode_started_on IS NOT NULL)::int",
    "episode_max": "f.episode_max",
    "dirty": "f.dirty::int",
    "restructured": "f.restructured::int",
    "category_at_restructure": f"coalesce(f.category_at_restructure, {cls.NONE})",
    "period_days": "coalesce(f.period_days, 30)",
    "stored_dpd": "f.dpd",
    "s3": "f.max_dpd_3m",
    "s6": "f.max_dpd_6m",
    "s12": "f.max_dpd_12m",
    "s30": "f.episodes_30",
    "s60": "f.episodes_60",
    "s90": "f.episodes_90",
    "m3": "coalesce(ep.m3, 0)",
    "m6": "coalesce(ep.m6, 0)",
    "m12": "coalesce(ep.m12, 0)",
    "c30": "coalesce(ep.c30, 0)",
    "c60": "coalesce(ep.c60, 0)",
    "c90": "coalesce(ep.c90, 0)",
    "version_changed": "(s.model_version IS DISTINCT FROM $5)::int",
    "published_grade_code": "coalesce(array_position($7::text[], s.published_grade::text) - 1, -1)",
    "prev_category": f"coalesce(array_position($8::text[], c.category::text) - 1, {cls.NONE})",
    "prev_own": f"coalesce(array_position($8::text[], c.own_category::text) - 1, {cls.NONE})",
    "prev_stage": "coalesce(c.ifrs9_stage, 0)",
    # The approved classification proposal in force (domain/judgement.py), NONE when there is none.
    "judged": "coalesce((SELECT array_position($8::text[], p.classification::text) - 1"
    f" FROM classification_proposals p WHERE p.loan_id = f.loan_id AND p.status = 'approved'), {cls.NONE})",
    "prev_ecl_cents": "coalesce((c.ecl * 100)::bigint, -1)",
    "days_since_class": "coalesce($1::date - c.since, 0)",
    "prev_obs": "coalesce(c.in_observation, false)::int",
    "valuation_stale": "coalesce(col.stale, false)::int",
    "insurance_expiring": "coalesce(col.insurance, false)::int",
    # The guarantors' own loans here (stored DPD and classification) and the guarantees' expiry.
    "guarantor_dpd": "coalesce(gu.dpd, 0)",
    "guarantor_npl": "coalesce(gu.npl, false)::int",
    "guarantee_expired": "coalesce(gu.expired, false)::int",
}


def _fetch_sql() -> str:
    packed = [f"array_agg({name}) AS {name}" for name in TEXT_COLUMNS]
    packed += [f"string_agg(float8send(coalesce({name}, 'NaN')), '') AS {name}" for name in FLOAT_COLUMNS]
    packed += [f"string_agg(int8send({name}), '') AS {name}" for name in INT_COLUMNS]
    selected = [f"{expr} AS {name}" for name, expr in TEXT_COLUMNS.items()]
    selected += [f"({expr})::float8 AS {name}" for name, expr in FLOAT_COLUMNS.items()]
    selected += [f"({expr})::bigint AS {name}" for name, expr in INT_COLUMNS.items()]
    return f"""
SELECT count(*) AS n, max(loan_id) AS last, {", ".join(packed)}
FROM (
    SELECT {", ".join(selected)}
    FROM loan_features f
    LEFT JOIN LATERAL (
        SELECT coalesce(max((e->>'m')::int) FILTER (WHERE (e->>'e')::date > $1::date - 91), 0) AS m3,
               coalesce(max((e->>'m')::int) FILTER (WHERE (e->>'e')::date > $1::date - 182), 0) AS m6,
               coalesce(max((e->>'m')::int) FILTER (WHERE (e->>'e')::date > $1::date - 365), 0) AS m12,
               count(*) FILTER (WHERE (e->>'m')::int > 30) AS c30,
               count(*) FILTER (WHERE (e->>'m')::int > 60) AS c60,
               count(*) FILTER (WHERE (e->>'m')::int > 90) AS c90
        FROM jsonb_array_elements(f.dpd_episodes) e
    ) ep ON true
    LEFT JOIN LATERAL (
        SELECT sum(coalesce(cl.allocated_value, k.value)) AS appraised,
               sum(coalesce(cl.allocated_value, k.value) * (1 - k.haircut)) AS secured,
               sum(coalesce(cl.allocated_value, k.value) * (1 - k.haircut)
                   * {collateral.secured_lgd_sql("k.kind")}) AS loss,
               bool_or(k.valued_on + {collateral.revaluation_days_sql("k.kind")} < $1::date) AS stale,
               bool_or(k.insurance_expires_on <= $1::date + {collateral.INSURANCE_NOTICE_DAYS}) AS insurance
        FROM collateral_links cl JOIN collateral k ON k.collateral_id = cl.collateral_id
        WHERE cl.loan_id = f.loan_id
    ) col ON true
    LEFT JOIN LATERAL (
        SELECT max(gl.dpd) AS dpd, bool_or({cls.npl_sql("gc.category")}) AS npl,
               bool_or(g.valid_until < $1::date) AS expired
        FROM guarantees g
        LEFT JOIN loan_features gl ON gl.customer_id = g.guarantor_customer_id AND gl.status = 'active'
            AND gl.loan_id <> f.loan_id
        LEFT JOIN classifications gc ON gc.loan_id = gl.loan_id
        WHERE g.loan_id = f.loan_id
    ) gu ON true
    LEFT JOIN customer_features cf ON cf.customer_id = f.customer_id
    LEFT JOIN loan_scores s ON s.loan_id = f.loan_id
    LEFT JOIN classifications c ON c.loan_id = f.loan_id
    WHERE {WORKING_SET} AND f.loan_id > $2 AND (f.segment <> 'retail') = $6
    ORDER BY f.loan_id
    LIMIT $3
) rows
"""


FETCH = _fetch_sql()


class Chunk:
    """One chunk of feature rows as column arrays."""

    def __init__(self, row: Any) -> None:
        self.n = int(row["n"])
        self.last = str(row["last"])
        self._row = row

    def text(self, name: str) -> list[Any]:
        """A text column (None where NULL)."""
        return list(self._row[name])

    def floats(self, name: str) -> FloatArray:
        """A numeric column as float64 (NaN where NULL)."""
        return np.frombuffer(self._row[name], dtype=">f8").astype(np.float64)

    def ints(self, name: str) -> IntArray:
        """An integer or boolean column as int64."""
        return np.frombuffer(self._row[name], dtype=">i8").astype(np.int64)

    def flags(self, name: str) -> BoolArray:
        """A boolean column."""
        return self.ints(name) != 0
