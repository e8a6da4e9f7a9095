"""The customer's timeline of risk alerts and post-loan reviews (issue 16 item 5)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from postloan_common.web import DbSession
from postloan_common.web.openapi import Page, Timestamp, problems
from postloan_crm.api.deps import Cursor, Limit, Reader, cursor_checked, existing_customer
from postloan_crm.service import alerts

router = APIRouter(tags=["customers"])


class TimelineEntryOut(BaseModel):
    entry_id: int
    kind: str = Field(description="risk_alert_raised | risk_alert_resolved | review_due")
    ref_id: str = Field(description="The alert's or the review's id")
    loan_id: str | None
    business_date: date | None
    at: Timestamp
    rule_id: str | None = None
    severity: str | None = None
    message: str | None = None
    resolution: str | None = Field(default=None, description="resolved | dismissed")
    review_kind: str | None = None
    reason: str | None = None
    due_on: date | None = None


def _entry(row: dict[str, Any]) -> TimelineEntryOut:
    d = row["details"]
    return TimelineEntryOut(
        **{k: row[k] for k in ("kind", "ref_id", "loan_id", "business_date", "at")},
        **{k: d.get(k) for k in ("rule_id", "severity", "message", "resolution", "reason", "due_on")},
        entry_id=row["id"],
        review_kind=d.get("kind"),
    )


@router.get(
    "/customers/{customer_id}/timeline",
    response_model=Page[TimelineEntryOut],
    operation_id="listCustomerTimeline",
    responses=problems(400, 401, 403, 404, 422),
)
async def customer_timeline(
    customer_id: str,
    session: DbSession,
    caller: Reader,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[TimelineEntryOut]:
    """The customer's risk alerts (raised, resolved) and scheduled reviews, newest first."""
    async with session.begin():
        await existing_customer(session, customer_id, scope=caller.scope)
        with cursor_checked():
            rows, next_cursor = await alerts.customer_timeline(
                session, customer_id=customer_id, limit=limit, cursor=cursor
            )
    return Page[TimelineEntryOut](items=[_entry(r) for r in rows], next_cursor=next_cursor)
