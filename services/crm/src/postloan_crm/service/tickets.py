"""Service tickets (complaint, hardship, restructuring, data correction) with an SLA, status and owner."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.envelope import new_event_id
from postloan_crm.service.projections import plan_touchpoint
from postloan_crm.store.tickets import insert_ticket, lock_ticket, update_ticket

HARDSHIP_FOLLOW_UP = timedelta(days=14)
# Allowed moves; a closed ticket stays closed.
TRANSITIONS = {
    "open": {"in_progress", "resolved", "closed"},
    "in_progress": {"open", "resolved", "closed"},
    "resolved": {"in_progress", "closed"},
    "closed": set(),
}


async def open_ticket(
    session: AsyncSession,
    *,
    customer_id: str,
    kind: str,
    subject: str,
    description: str | None,
    loan_id: str | None,
    owner: str | None,
    sla: timedelta,
    now: datetime,
    actor: str,
) -> dict[str, Any]:
    """Open a ticket due within its SLA; a hardship request also plans a follow-up touchpoint."""
    row = {
        "ticket_id": f"TKT-{new_event_id().hex}",
        "customer_id": customer_id,
        "loan_id": loan_id,
        "kind": kind,
        "status": "open",
        "owner": owner,
        "subject": subject,
        "description": description,
        "sla_due_at": now + sla,
        "created_by": actor,
    }
    created = await insert_ticket(session, row)
    if kind == "hardship_request":
        await plan_touchpoint(
            session,
            customer_id=customer_id,
            loan_id=loan_id,
            kind="hardship_follow_up",
            due_on=(now + HARDSHIP_FOLLOW_UP).date(),
            note=f"follow up on {row['ticket_id']}",
        )
    return created


async def change_ticket(
    session: AsyncSession, *, ticket_id: str, status: str | None, owner: str | None, now: datetime
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move a ticket's status and/or owner; return (before, after). LookupError / ValueError on bad input."""
    row = await lock_ticket(session, ticket_id)
    if row is None:
        raise LookupError(f"ticket {ticket_id} is not known")
    values: dict[str, Any] = {}
    if status is not None and status != row["status"]:
        if status not in TRANSITIONS[row["status"]]:
            raise ValueError(f"a {row['status']} ticket cannot become {status}")
        values["status"] = status
        values["resolved_at"] = now if status in ("resolved", "closed") else None
    if owner is not None:
        values["owner"] = owner
    after = await update_ticket(session, ticket_id, values)
    return row, after


def overdue(row: dict[str, Any], now: datetime) -> bool:
    """Whether the ticket is past its SLA while still unresolved."""
    return row["status"] in ("open", "in_progress") and row["sla_due_at"] < now
