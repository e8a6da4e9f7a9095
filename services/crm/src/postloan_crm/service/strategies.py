"""Collection strategies run as experiments: each change a new version, the current one splits new cases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.domain.dunning import ANY_BUCKET, DunningStep, Ladder
from postloan_crm.domain.experiments import Arm, ArmRole, Experiment, arms_problem
from postloan_crm.store import strategies as rows

# What a version is made of; `created_by` and `created_at` only record who made it and when.
DEFINITION = ("salt", "arms", "ladders", "queues", "active")


class StrategyRejected(ValueError):
    """The strategy's arms are not a valid split (the reason is the message)."""


def arms_of(stored: Sequence[Mapping[str, Any]]) -> tuple[Arm, ...]:
    """The arms of a stored version (JSON with decimal-string shares)."""
    return tuple(Arm(a["name"], ArmRole(a["role"]), Decimal(a["share"]), a.get("ladder")) for a in stored)


def ladders_of(stored: Sequence[Mapping[str, Any]]) -> dict[str, tuple[DunningStep, ...]]:
    """The named dunning ladders of a stored version."""
    return {
        ladder["name"]: tuple(
            DunningStep(int(s["dpd"]), str(s["channel"]), str(s["template"])) for s in ladder["steps"]
        )
        for ladder in stored
    }


def experiment_of(row: Mapping[str, Any]) -> Experiment:
    """A stored version as the domain's experiment."""
    return Experiment(
        strategy_id=row["strategy_id"],
        version=row["version"],
        salt=row["salt"],
        arms=arms_of(row["arms"]),
        queues=tuple(row["queues"]),
        active=row["active"],
    )


async def put_strategy(
    session: AsyncSession, *, strategy_id: str, definition: Mapping[str, Any], actor: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Store `definition` as the strategy's next version unless it equals the current one; return (current,
    previous version or None). StrategyRejected when the shares do not sum to 1 or the roles are wrong."""
    problem = arms_problem(arms_of(definition["arms"]), ladders=ladders_of(definition["ladders"]))
    if problem is not None:
        raise StrategyRejected(problem)
    before = await rows.lock_latest(session, strategy_id)
    if before is not None and {k: before[k] for k in DEFINITION} == {k: definition[k] for k in DEFINITION}:
        return before, before
    version = 1 if before is None else before["version"] + 1
    row = {"strategy_id": strategy_id, "version": version, "created_by": actor, **definition}
    return await rows.add_version(session, row), before


async def arm_ladders(session: AsyncSession) -> dict[tuple[str, int, str], Ladder]:
    """The ladder of every arm, of any version, that names one of its strategy's ladders: by (strategy id,
    version, arm), the key a case keeps."""
    found: dict[tuple[str, int, str], Ladder] = {}
    for row in await rows.versions_with_ladders(session):
        named = ladders_of(row["ladders"])
        for arm in arms_of(row["arms"]):
            if arm.ladder is not None and arm.ladder in named:
                found[(row["strategy_id"], row["version"], arm.name)] = Ladder("*", ANY_BUCKET, named[arm.ladder])
    return found


async def current_experiments(session: AsyncSession) -> list[Experiment]:
    """The current version of every strategy."""
    return [experiment_of(r) for r in await rows.current_versions(session)]
