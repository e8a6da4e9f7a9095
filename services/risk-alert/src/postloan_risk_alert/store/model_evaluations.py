"""Stored evaluations of model versions on labelled own history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.store.tables import loan_scores, model_evaluations, models


async def save(session: AsyncSession, *, version: str, labelled_rows: int, observed: dict[str, Any] | None) -> None:
    """Store (replace) the evaluation of `version`; `observed` is None when the labels cannot rank."""
    values = {
        "labelled_rows": labelled_rows,
        "auc": observed["auc"] if observed else None,
        "ks": observed["ks"] if observed else None,
        "calibration": observed["calibration"] if observed else None,
        "evaluated_at": func.now(),
    }
    await session.execute(
        insert(model_evaluations)
        .values(version=version, **values)
        .on_conflict_do_update(index_elements=[model_evaluations.c.version], set_=values)
    )


async def latest(session: AsyncSession, version: str) -> dict[str, Any] | None:
    """The stored evaluation of `version`, if it was ever evaluated."""
    row = (await session.execute(select(model_evaluations).where(model_evaluations.c.version == version))).first()
    return dict(row._mapping) if row else None


async def status_of(session: AsyncSession, version: str) -> str | None:
    """The status of a model version (champion, challenger, retired)."""
    return (await session.execute(select(models.c.status).where(models.c.version == version))).scalar()


async def current_scores(session: AsyncSession, version: str) -> list[float]:
    """The current scores of the loans scored by `version`."""
    rows = await session.execute(select(loan_scores.c.score).where(loan_scores.c.model_version == version))
    return [float(s) for (s,) in rows]
