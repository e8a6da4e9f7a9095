"""Training rows from the service's own history: month-end features and the 12-month 90+ DPD outcome."""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_risk_alert.domain.scoring import FEATURES
from postloan_risk_alert.domain.training import Dataset

# A snapshot is labelled once 12 months have passed after it; the loan defaulted if one of its
# delinquency episodes crossed 90 DPD (on its start + 91 days) within those 12 months.
LABELLED = """
SELECT s.features,
       EXISTS (
           SELECT 1 FROM jsonb_array_elements(f.dpd_episodes) e
           WHERE (e->>'m')::int > 90 AND (e->>'s')::date + 91 > s.as_of AND (e->>'s')::date + 91 <= s.as_of + 365
       ) OR (
           f.episode_started_on IS NOT NULL AND greatest(f.episode_max, f.dpd) > 90
           AND f.episode_started_on + 91 > s.as_of AND f.episode_started_on + 91 <= s.as_of + 365
       ) AS defaulted
FROM feature_snapshots s JOIN loan_features f ON f.loan_id = s.loan_id
WHERE s.as_of <= (SELECT max(business_date) FROM scoring_runs) - 365 AND (s.features->>'dpd')::int <= 90
"""


async def training_rows(session: AsyncSession) -> Dataset:
    """Every labelled snapshot as a dataset."""
    raw = await driver_connection(session)
    rows = await raw.fetch(LABELLED)
    parsed = [r["features"] if isinstance(r["features"], dict) else json.loads(r["features"]) for r in rows]
    columns = {
        f.name: np.asarray([np.nan if p.get(f.name) is None else float(p[f.name]) for p in parsed], dtype=np.float64)
        for f in FEATURES
    }
    return Dataset(columns, np.asarray([1 if r["defaulted"] else 0 for r in rows], dtype=np.int64))
