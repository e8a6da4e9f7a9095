"""Click-to-call: check every contact rule at dial time, record the attempt, turn the result into an interaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.envelope import new_event_id
from postloan_crm.domain.telephony import dialled_number
from postloan_crm.service.contact_checks import policy_decision
from postloan_crm.service.customers import CustomerData
from postloan_crm.service.events import Trace
from postloan_crm.service.interactions import ContactRefused, InteractionData, log_interaction
from postloan_crm.store import calls as call_rows


class ResultConflict(Exception):
    """A second result for a call says something else than the first."""


async def start_call(
    session: AsyncSession,
    *,
    case: dict[str, Any],
    customer: CustomerData,
    phone_index: int,
    agent_id: str,
    mode: str,
    now: datetime,
) -> tuple[dict[str, Any], str]:
    """Record a call attempt and return it with the number to dial; LookupError / ContactRefused on bad input."""
    number = dialled_number([p.number for p in customer.phones], phone_index)
    if number is None:
        raise LookupError(f"customer {customer.customer_id} has no phone {phone_index}")
    decision = await policy_decision(session, customer=customer, channel="phone", now=now)
    if not decision.allowed:
        raise ContactRefused(decision)
    row = {
        "call_id": f"CALL-{new_event_id().hex}",
        "case_id": case["case_id"],
        "customer_id": customer.customer_id,
        "loan_id": case["loan_id"],
        "agent_id": agent_id,
        "phone_index": phone_index,
        "mode": mode,
        "status": "requested",
        "requested_at": now,
    }
    await call_rows.insert_call(session, row)
    return row, number


async def note_dial(
    session: AsyncSession, *, call_id: str, provider_call_id: str | None, error: str | None
) -> dict[str, Any]:
    """What the provider answered to the dial request."""
    if error is not None:
        return await call_rows.change_call(session, call_id, status="failed", error=error[:2000])
    return await call_rows.change_call(session, call_id, status="dialling", provider_call_id=provider_call_id)


async def record_result(
    session: AsyncSession, *, call: dict[str, Any], result: dict[str, Any], customer: CustomerData, trace: Trace
) -> tuple[dict[str, Any], bool]:
    """Turn the call's result into its interaction once; return (call, whether this post changed it)."""
    if call["result"] is not None:
        if call["result"] != result:
            raise ResultConflict(f"call {call['call_id']} already has another result")
        return call, False
    note = f"call {call['call_id']}, {result['duration_s']} s" + (
        f", recording {result['recording_ref']}" if result.get("recording_ref") else ""
    )
    interaction = await log_interaction(
        session,
        customer=customer,
        data=InteractionData(
            channel="phone",
            direction="outbound",
            party="debtor",
            connected=bool(result["connected"]),
            outcome=str(result["outcome"]),
            occurred_at=call["requested_at"],
            case_id=call["case_id"],
            loan_id=call["loan_id"],
            note=note,
        ),
        agent_id=call["agent_id"],
        trace=trace,
        checked_at_dial=True,
    )
    changed = await call_rows.change_call(
        session, call["call_id"], status="completed", result=result, interaction_id=interaction["interaction_id"]
    )
    return changed, True
