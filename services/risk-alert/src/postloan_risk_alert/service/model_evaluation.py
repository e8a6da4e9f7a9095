"""Evaluate model versions on labelled own history and store the result for the performance endpoint."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.domain import training
from postloan_risk_alert.service import history, models
from postloan_risk_alert.store import model_evaluations


async def evaluate_and_store(session: AsyncSession, *, versions: Sequence[str] | None = None) -> int:
    """Evaluate `versions` (default: every version not retired) on the labelled snapshots; return how many rows."""
    labelled = await history.training_rows(session)
    rankable = len(labelled) > 0 and 0 < labelled.outcome.sum() < len(labelled)
    wanted = (
        versions
        if versions is not None
        else [m["version"] for m in await models.listing(session) if m["status"] != models.RETIRED]
    )
    for version in wanted:
        found = await models.artifact_of(session, version)
        if found is None:
            continue
        model, _ = found
        observed = training.evaluate(model, labelled) if rankable else None
        await model_evaluations.save(session, version=version, labelled_rows=len(labelled), observed=observed)
    return len(labelled)
