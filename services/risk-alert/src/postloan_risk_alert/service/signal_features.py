"""The rule features of external signals for a set of subjects, as column arrays for close of day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.domain import signals as domain
from postloan_risk_alert.store import signals as store

FloatArray = npt.NDArray[np.float64]


def _signal(row: Any) -> domain.Signal:
    return domain.Signal(row.signal_id, row.kind, row.observed_on, row.value, row.case_id, row.status)


async def signal_columns(
    session: AsyncSession, *, customer_ids: Sequence[str | None], business_date: date
) -> dict[str, FloatArray]:
    """One float column per signal feature, a value per entry of `customer_ids` (NaN where unknown)."""
    own: dict[str, list[domain.Signal]] = defaultdict(list)
    industry: dict[str, list[domain.Signal]] = defaultdict(list)
    rows = await store.feature_rows(session, customer_ids=(c for c in customer_ids if c), as_of=business_date)
    for row in rows:
        (industry if row.subject == "industry" else own)[row.customer_id].append(_signal(row))
    features = {
        c: domain.signal_features(own.get(c, ()), industry.get(c, ()), as_of=business_date) for c in {*own, *industry}
    }
    table = [features.get(c, domain.NO_SIGNALS) if c else domain.NO_SIGNALS for c in customer_ids]
    return {
        name: np.asarray([np.nan if f[name] is None else f[name] for f in table], dtype=np.float64)
        for name in domain.FEATURES
    }
