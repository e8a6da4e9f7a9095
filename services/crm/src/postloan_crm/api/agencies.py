"""Outside collection agencies and the recovery cases placed with them (issue 16 item 4)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.audit import changes
from postloan_common.money import quantize_ratio
from postloan_common.web import CorrelationId, DbSession, ProblemError, require_roles
from postloan_common.web.openapi import DecimalText, Page, Timestamp, problems
from postloan_crm.api.deps import Caller, CaseReader, Now, caller_with, visible_case
from postloan_crm.api.schemas import Id, Name
from postloan_crm.domain.placements import agency_may_act
from postloan_crm.service import audit
from postloan_crm.service.calendar import current_business_date
from postloan_crm.service.events import Trace
from postloan_crm.service.placements import PlacementRefused, place_case, put_agency, recall_placement
from postloan_crm.store import placements as rows

router = APIRouter(tags=["agencies"])
Placer = Annotated[Caller, Depends(caller_with("supervisor", "admin"))]
AgencyId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
# numeric(5, 4) in the table: a fraction of what the agency recovers, 0.2500 = 25 %.
CommissionRate = Annotated[Decimal, Field(ge=0, le=1, max_digits=5, decimal_places=4)]


AGENCY_EXAMPLE: dict[str, Any] = {"name": "Huadong Recovery Co.", "commission_rate": "0.25", "active": True}


class AgencyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [AGENCY_EXAMPLE]})
    name: Name
    commission_rate: CommissionRate
    active: bool = True


class PlacementIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"agency_id": "agency-east"}]})

    agency_id: Id


class AgencyOut(BaseModel):
    agency_id: str
    name: str
    commission_rate: DecimalText
    active: bool


class PlacementOut(BaseModel):
    placement_id: str
    case_id: str
    customer_id: str
    loan_id: str
    agency_id: str
    commission_rate: DecimalText
    status: str = Field(description="active | recalled")
    placed_by: str
    placed_at: Timestamp
    recalled_by: str | None
    recalled_at: Timestamp | None


@router.put(
    "/agencies/{agency_id}",
    status_code=status.HTTP_201_CREATED,
    operation_id="putAgency",
    responses={200: {"description": "The agency existed", "model": AgencyOut}, **problems(401, 403, 422)},
)
async def put_agency_route(
    agency_id: AgencyId,
    body: AgencyIn,
    session: DbSession,
    caller: Placer,
    correlation_id: CorrelationId,
    response: Response,
) -> AgencyOut:
    """Create (201) or change (200) an agency; repeating the same body changes nothing."""
    # At the table's scale, so "0.25" and the stored 0.2500 compare (and audit) as the same rate.
    agency = {"agency_id": agency_id, **body.model_dump()} | {
        "commission_rate": quantize_ratio(body.commission_rate, 4)
    }
    async with session.begin():
        before = await put_agency(session, agency=agency)
        if before != agency:
            await audit.record(
                session,
                actor=caller.principal.subject,
                action="agency.put",
                subject=agency_id,
                details={"changes": changes(before, agency)},
                correlation_id=correlation_id,
            )
    if before is not None:
        response.status_code = status.HTTP_200_OK
    return AgencyOut.model_validate(agency)


@router.get(
    "/agencies",
    dependencies=[Depends(require_roles("supervisor", "admin", "compliance", "analyst", "system"))],
    operation_id="listAgencies",
    responses=problems(401, 403),
)
async def list_agencies(session: DbSession) -> Page[AgencyOut]:
    """Every agency (one page)."""
    async with session.begin():
        items = await rows.all_agencies(session)
    return Page[AgencyOut].model_validate({"items": items, "next_cursor": None})


@router.post(
    "/cases/{case_id}/placements",
    status_code=status.HTTP_201_CREATED,
    operation_id="placeCase",
    responses=problems(401, 403, 404, 409, 422),
)
async def place(
    case_id: str, body: PlacementIn, session: DbSession, caller: Placer, correlation_id: CorrelationId, now: Now
) -> PlacementOut:
    """Place an open recovery-queue case with an active agency; 409 naming the reason otherwise."""
    actor = caller.principal.subject
    async with session.begin():
        await visible_case(session, case_id, scope=caller.scope)
        agency = await rows.lock_agency(session, body.agency_id)
        if agency is None:
            raise ProblemError(404, "Agency not found", f"agency {body.agency_id} is not known")
        trace = Trace(business_date=await current_business_date(session), correlation_id=correlation_id)
        try:
            placement = await place_case(session, case_id=case_id, agency=agency, actor=actor, now=now, trace=trace)
        except LookupError as exc:
            raise ProblemError(404, "Case not found", str(exc)) from exc
        except PlacementRefused as exc:
            raise _refused(exc) from exc
        await _audit(session, placement, action="case.place", actor=actor, correlation_id=correlation_id)
    return PlacementOut.model_validate(placement)


@router.get(
    "/cases/{case_id}/placements",
    operation_id="listCasePlacements",
    responses=problems(401, 403, 404),
)
async def list_placements(case_id: str, session: DbSession, caller: CaseReader) -> Page[PlacementOut]:
    """The case's placements, newest first (an agency sees only its own)."""
    async with session.begin():
        await visible_case(session, case_id, scope=caller.scope)
        items = await rows.case_placements(session, case_id)
    agency = caller.scope.agency if caller.scope is not None else None
    mine = [p for p in items if agency is None or p["agency_id"] == agency]
    return Page[PlacementOut].model_validate({"items": mine, "next_cursor": None})


async def _visible_placement(session: AsyncSession, placement_id: str, *, caller: Caller) -> None:
    """Nothing, or 404 when the placement is unknown or its case outside the caller's scope."""
    found = await rows.lock_placement(session, placement_id)
    if found is None:
        raise ProblemError(404, "Placement not found", f"placement {placement_id} is not known")
    await visible_case(session, found["case_id"], scope=caller.scope)


@router.post(
    "/placements/{placement_id}/recall",
    operation_id="recallPlacement",
    responses=problems(401, 403, 404),
)
async def recall(
    placement_id: str, session: DbSession, caller: Placer, correlation_id: CorrelationId, now: Now
) -> PlacementOut:
    """Take the case back from its agency; recalling a recalled placement changes nothing."""
    actor = caller.principal.subject
    async with session.begin():
        await _visible_placement(session, placement_id, caller=caller)
        trace = Trace(business_date=await current_business_date(session), correlation_id=correlation_id)
        placement, changed = await recall_placement(
            session, placement_id=placement_id, actor=actor, now=now, trace=trace
        )
        if changed:
            await _audit(session, placement, action="placement.recall", actor=actor, correlation_id=correlation_id)
    return PlacementOut.model_validate(placement)


async def require_placed(session: AsyncSession, *, caller: Caller, case_id: str | None, customer_id: str) -> None:
    """Nothing for a caller who is no agency; for an agency, 403 unless the case is placed with it."""
    agency = caller.scope.agency if caller.scope is not None else None
    if agency is None:
        return
    placement = await rows.active_placement(session, case_id) if case_id is not None else None
    holder = placement["agency_id"] if placement is not None and placement["customer_id"] == customer_id else None
    if not agency_may_act(agency_id=agency, placed_with=holder):
        raise ProblemError(403, "Forbidden", "an agency records results only on the cases placed with it")


async def _audit(
    session: AsyncSession, placement: dict[str, Any], *, action: str, actor: str, correlation_id: str | None
) -> None:
    """One audit row for a change of a placement, on its case."""
    details = {"placement_id": placement["placement_id"], "agency_id": placement["agency_id"]}
    await audit.record(
        session,
        actor=actor,
        action=action,
        subject=placement["case_id"],
        details=details,
        correlation_id=correlation_id,
    )


def _refused(exc: PlacementRefused) -> ProblemError:
    return ProblemError(
        409, "Placement refused", str(exc), type_="/problems/placement-refused", extra={"reason": exc.reason}
    )
