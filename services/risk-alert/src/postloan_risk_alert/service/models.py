"""Model versions: the shipped default, the champion, challengers and their promotion."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.domain.scoring import Scorecard
from postloan_risk_alert.service import audit
from postloan_risk_alert.store.tables import models

DEFAULT_VERSION = "default-v1"
CHAMPION, CHALLENGER, RETIRED = "champion", "challenger", "retired"


@cache
def default_artifact() -> dict[str, Any]:
    """The artifact of the model that ships with the package (see models/README.md)."""
    text = resources.files("postloan_risk_alert.models").joinpath(f"{DEFAULT_VERSION}.json").read_text()
    artifact: dict[str, Any] = json.loads(text)
    return artifact


def default_model() -> Scorecard:
    """The shipped default scorecard."""
    return Scorecard.from_json(default_artifact())


async def champion(session: AsyncSession) -> Scorecard:
    """The champion model, installing the shipped default when there is none yet."""
    row = (await session.execute(select(models.c.artifact).where(models.c.status == CHAMPION))).first()
    if row is not None:
        return Scorecard.from_json(row.artifact)
    artifact = default_artifact()
    await session.execute(
        insert(models)
        .values(
            version=DEFAULT_VERSION,
            status=CHAMPION,
            artifact=artifact,
            metrics=artifact.get("training", {}).get("holdout", {}),
            promoted_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing()
    )
    return Scorecard.from_json(artifact)


async def save(session: AsyncSession, *, model: Scorecard, status: str, metrics: dict[str, Any]) -> None:
    """Store a model version (a challenger until promoted)."""
    await session.execute(
        insert(models)
        .values(version=model.version, status=status, artifact=model.to_json(), metrics=metrics)
        .on_conflict_do_update(
            index_elements=[models.c.version], set_={"artifact": model.to_json(), "metrics": metrics}
        )
    )


async def promote(
    session: AsyncSession,
    *,
    version: str,
    actor: str = "risk-alert-train",
    details: dict[str, Any] | None = None,
    correlation_id: str | None = None,
) -> None:
    """Make `version` the champion, retire the previous one and audit who promoted it (issue 13 item 14)."""
    retired = await session.execute(
        update(models).where(models.c.status == CHAMPION).values(status=RETIRED).returning(models.c.version)
    )
    previous = [v for (v,) in retired]
    await session.execute(
        update(models).where(models.c.version == version).values(status=CHAMPION, promoted_at=datetime.now(UTC))
    )
    await audit.record(
        session,
        actor=actor,
        action="model.promote",
        subject=version,
        details={"retired": previous, **(details or {})},
        correlation_id=correlation_id,
    )


async def listing(session: AsyncSession) -> list[dict[str, Any]]:
    """Every stored model version, newest first."""
    await champion(session)
    rows = await session.execute(
        select(models.c.version, models.c.status, models.c.metrics, models.c.created_at, models.c.promoted_at).order_by(
            models.c.created_at.desc()
        )
    )
    return [dict(r._mapping) for r in rows]


async def artifact_of(session: AsyncSession, version: str) -> tuple[Scorecard, dict[str, Any]] | None:
    """A stored model and its metrics."""
    await champion(session)
    row = (
        await session.execute(select(models.c.artifact, models.c.metrics).where(models.c.version == version))
    ).first()
    if row is None:
        return None
    return Scorecard.from_json(row.artifact), dict(row.metrics)
