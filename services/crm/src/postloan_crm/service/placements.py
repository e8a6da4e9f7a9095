"""Agencies and placements: place a recovery case with an agency, recall it, on the case timeline and crm.activities."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts.crm import CasePlacedV1, CaseRecalledV1
from postloan_common.messaging.envelope import new_event_id
from postloan_crm.domain.placements import ACTIVE, RECALLED, placement_refusal, recall_changes
from postloan_crm.service.events import Journal, Trace
from postloan_crm.store import cases as case_rows
from postloan_crm.store import placements as rows

REFUSALS = {
    "case_closed": "case {case_id} is closed",
    "not_in_recovery_queue": "case {case_id} is in the {queue} queue; only recovery cases are placed",
    "already_placed": "case {case_id} is already placed with agency {placed_with}",
    "agency_inactive": "agency {agency_id} is not active",
}


EVENT_KEYS = ("case_id", "customer_id", "loan_id", "placement_id", "agency_id")


class PlacementRefused(Exception):
    """The case may not be placed; `reason` is the code of domain/placements.py."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


async def put_agency(session: AsyncSession, *, agency: dict[str, Any]) -> dict[str, Any] | None:
    """Create or change the agency (nothing is written when it is unchanged); return its fields before."""
    before = await rows.lock_agency(session, agency["agency_id"])
    if before != agency:
        await rows.save_agency(session, agency)
    return before


async def place_case(
    session: AsyncSession, *, case_id: str, agency: dict[str, Any], actor: str, now: datetime, trace: Trace
) -> dict[str, Any]:
    """Place the case with the agency; LookupError for an unknown case, PlacementRefused when the rules say no."""
    case = await case_rows.lock_case(session, case_id)
    if case is None:
        raise LookupError(f"case {case_id} is not known")
    current = await rows.active_placement(session, case_id)
    holder = current["agency_id"] if current is not None else None
    reason = placement_refusal(
        case_status=case["status"], case_queue=case["queue"], placed_with=holder, agency_active=agency["active"]
    )
    if reason is not None:
        facts = {"case_id": case_id, "queue": case["queue"], "placed_with": holder, "agency_id": agency["agency_id"]}
        raise PlacementRefused(reason, REFUSALS[reason].format(**facts))
    placement = await rows.add_placement(
        session,
        {
            "placement_id": f"PL-{new_event_id().hex}",
            "case_id": case_id,
            "customer_id": case["customer_id"],
            "loan_id": case["loan_id"],
            "agency_id": agency["agency_id"],
            "commission_rate": agency["commission_rate"],
            "status": ACTIVE,
            "placed_by": actor,
            "placed_at": now,
        },
    )
    on = trace.business_date or now.date()
    event = CasePlacedV1.model_validate(
        _keys(placement) | {"commission_rate": agency["commission_rate"], "placed_on": on}
    )
    await _journal(session, placement, kind="placed", actor=actor, event=event, trace=trace)
    return placement


async def recall_placement(
    session: AsyncSession, *, placement_id: str, actor: str, now: datetime, trace: Trace
) -> tuple[dict[str, Any], bool]:
    """End the placement; return it and whether this call changed it (LookupError when unknown)."""
    placement = await rows.lock_placement(session, placement_id)
    if placement is None:
        raise LookupError(f"placement {placement_id} is not known")
    if not recall_changes(placement["status"]):
        return placement, False
    ended = await rows.end_placement(session, placement_id, status=RECALLED, recalled_by=actor, recalled_at=now)
    event = CaseRecalledV1.model_validate(_keys(ended) | {"recalled_on": trace.business_date or now.date()})
    await _journal(session, ended, kind="recalled", actor=actor, event=event, trace=trace)
    return ended, True


def _keys(placement: dict[str, Any]) -> dict[str, Any]:
    """The fields every placement event carries, from the placement's row."""
    return {name: placement[name] for name in EVENT_KEYS}


async def _journal(
    session: AsyncSession,
    placement: dict[str, Any],
    *,
    kind: str,
    actor: str,
    event: CasePlacedV1 | CaseRecalledV1,
    trace: Trace,
) -> None:
    journal = Journal()
    details = {"placement_id": placement["placement_id"], "agency_id": placement["agency_id"]}
    journal.note(
        case_id=placement["case_id"], kind=kind, details=details, business_date=trace.business_date, actor=actor
    )
    journal.emit(event, customer_id=placement["customer_id"], trace=trace)
    await journal.write(session)
