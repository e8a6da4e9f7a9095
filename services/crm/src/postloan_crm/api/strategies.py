"""Collection strategies as experiments (issue 16 item 6): champion, challengers and a hold-out, versioned."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from postloan_common.audit import changes
from postloan_common.contracts.crm import ArmName, CollectionQueue
from postloan_common.web import CorrelationId, CurrentPrincipal, DbSession, ProblemError, require_roles
from postloan_common.web.openapi import DecimalText, Page, Timestamp, problems
from postloan_crm.api.schemas import DunningStepIn
from postloan_crm.domain.experiments import ArmRole
from postloan_crm.service import audit
from postloan_crm.service.strategies import StrategyRejected, put_strategy
from postloan_crm.store import strategies as rows

# The collections manager (a supervisor) or an administrator sets strategies; analysts and compliance read them.
WRITERS = ("supervisor", "admin")
READERS = (*WRITERS, "analyst", "compliance")
router = APIRouter(tags=["strategies"])
StrategyId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Salt = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
Share = Annotated[Decimal, Field(gt=0, le=1, max_digits=7, decimal_places=6)]
LadderName = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
# An experiment splits the people-worked and automated queues; watch cases are a relationship manager's.
DEFAULT_QUEUES = [q.value for q in CollectionQueue if q is not CollectionQueue.WATCH]

STRATEGY_EXAMPLE: dict[str, Any] = {
    "salt": "2026-q4-m1",
    "queues": ["automated", "phone"],
    "active": True,
    "arms": [
        {"name": "champion", "role": "champion", "share": "0.8"},
        {"name": "email-first", "role": "challenger", "share": "0.1", "ladder": "email-first"},
        {"name": "holdout", "role": "control", "share": "0.1"},
    ],
    "ladders": [
        {
            "name": "email-first",
            "steps": [
                {"dpd": 1, "channel": "email", "template": "dunning-overdue"},
                {"dpd": 5, "channel": "sms", "template": "dunning-reminder"},
            ],
        }
    ],
}


class ArmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: ArmName
    role: ArmRole
    share: Share = Field(description="The fraction of new cases this arm gets; the arms' shares sum to 1")
    ladder: LadderName | None = Field(
        default=None, description="One of the strategy's `ladders` (default: the queue's)"
    )


class NamedLadderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: LadderName
    steps: list[DunningStepIn] = Field(max_length=20, description="Used in every queue and bucket of the arm")

    @model_validator(mode="after")
    def _one_step_per_day(self) -> Self:
        offsets = [s.dpd for s in self.steps]
        if len(set(offsets)) != len(offsets):
            raise ValueError("a ladder has at most one step per DPD")
        return self


class StrategyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [STRATEGY_EXAMPLE]})
    salt: Salt = Field(description="Mixed into the hash of the loan id that picks each new case's arm")
    arms: list[ArmIn] = Field(min_length=1, max_length=10)
    ladders: list[NamedLadderIn] = Field(default_factory=list, max_length=10)
    queues: list[CollectionQueue] = Field(
        default_factory=lambda: [CollectionQueue(q) for q in DEFAULT_QUEUES],
        min_length=1,
        max_length=len(CollectionQueue),
        description="The queues whose new cases join the experiment",
    )
    active: bool = True


class ArmOut(BaseModel):
    name: str
    role: str
    share: DecimalText
    ladder: str | None = None


class StepOut(BaseModel):
    dpd: int
    channel: str
    template: str


class NamedLadderOut(BaseModel):
    name: str
    steps: list[StepOut]


class StrategyOut(BaseModel):
    strategy_id: str
    version: int
    salt: str
    arms: list[ArmOut]
    ladders: list[NamedLadderOut]
    queues: list[str]
    active: bool
    created_by: str
    created_at: Timestamp


def _definition(body: StrategyIn) -> dict[str, Any]:
    """The body as stored: shares as normalised decimal strings and queues sorted, so equal bodies compare equal."""
    arms = [
        {"name": a.name, "role": a.role.value, "share": format(a.share.normalize(), "f"), "ladder": a.ladder}
        for a in body.arms
    ]
    ladders = [{"name": ladder.name, "steps": [s.model_dump() for s in ladder.steps]} for ladder in body.ladders]
    if len({ladder["name"] for ladder in ladders}) != len(ladders):
        raise ProblemError(422, "Invalid strategy", "ladder names must be unique")
    queues = sorted({q.value for q in body.queues})
    return {"salt": body.salt, "arms": arms, "ladders": ladders, "queues": queues, "active": body.active}


@router.put(
    "/strategies/{strategy_id}",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_roles(*WRITERS))],
    operation_id="putStrategy",
    responses={
        200: {"description": "Unchanged: the body equals the current version", "model": StrategyOut},
        **problems(401, 403, 422),
    },
)
async def put_strategy_route(
    strategy_id: StrategyId,
    body: StrategyIn,
    session: DbSession,
    principal: CurrentPrincipal,
    correlation_id: CorrelationId,
    response: Response,
) -> StrategyOut:
    """Make a new version (201) of the strategy; the same body as the current version changes nothing (200)."""
    definition = _definition(body)
    async with session.begin():
        try:
            current, before = await put_strategy(
                session, strategy_id=strategy_id, definition=definition, actor=principal.subject
            )
        except StrategyRejected as exc:
            raise ProblemError(422, "Invalid strategy", str(exc)) from exc
        if current is before:
            response.status_code = status.HTTP_200_OK
        else:
            previous = {k: before[k] for k in definition} if before else None
            await audit.record(
                session,
                actor=principal.subject,
                action="strategy.put",
                subject=strategy_id,
                details={"version": current["version"], "changes": changes(previous, definition)},
                correlation_id=correlation_id,
            )
    return StrategyOut.model_validate(current)


@router.get(
    "/strategies/{strategy_id}",
    dependencies=[Depends(require_roles(*READERS))],
    operation_id="getStrategy",
    responses=problems(401, 403, 404),
)
async def get_strategy(strategy_id: StrategyId, session: DbSession) -> StrategyOut:
    """The current version of the strategy."""
    async with session.begin():
        current = await rows.latest(session, strategy_id)
    if current is None:
        raise ProblemError(404, "Strategy not found", f"strategy {strategy_id} is not known")
    return StrategyOut.model_validate(current)


@router.get(
    "/strategies/{strategy_id}/versions",
    dependencies=[Depends(require_roles(*READERS))],
    operation_id="listStrategyVersions",
    responses=problems(401, 403, 404),
)
async def list_versions(strategy_id: StrategyId, session: DbSession) -> Page[StrategyOut]:
    """Every version of the strategy, newest first (one page)."""
    async with session.begin():
        items = await rows.versions(session, strategy_id)
    if not items:
        raise ProblemError(404, "Strategy not found", f"strategy {strategy_id} is not known")
    return Page[StrategyOut].model_validate({"items": items, "next_cursor": None})
