"""Interactions logged by agents; outbound calls count against the contact caps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import ContactAttemptedV1
from postloan_common.contracts.crm import ContactParty
from postloan_common.messaging.envelope import new_event_id
from postloan_crm.domain.contact_policy import Decision, is_phone
from postloan_crm.service.cases import add_timeline
from postloan_crm.service.contact_checks import policy_decision
from postloan_crm.service.customers import CustomerData
from postloan_crm.service.events import Trace, emit
from postloan_crm.store.cases import load_case
from postloan_crm.store.interactions import debtor_reached_at, insert_interaction


class ContactRefused(Exception):
    """Logging this contact would break a contact rule."""

    def __init__(self, decision: Decision, *, rule: str | None = None) -> None:
        super().__init__(decision.detail)
        self.decision = decision
        self.rule = rule or (decision.rule.value if decision.rule else "refused")


@dataclass(frozen=True, slots=True)
class InteractionData:
    channel: str
    direction: str
    party: str
    connected: bool
    outcome: str
    occurred_at: datetime
    case_id: str | None = None
    loan_id: str | None = None
    note: str | None = None
    next_action_at: datetime | None = None


async def log_interaction(
    session: AsyncSession,
    *,
    customer: CustomerData,
    data: InteractionData,
    agent_id: str,
    trace: Trace,
    checked_at_dial: bool = False,
) -> dict[str, Any]:
    """Record an interaction; an outbound call to the debtor that breaks a contact rule raises ContactRefused.

    A call placed through POST /v1/calls was checked when it was dialled (`checked_at_dial`): its result is
    recorded whatever the caps say now, since the call took place.
    """
    # The caller locked the customer row, so two agents cannot both take the last call of the day.
    outbound_call = data.direction == "outbound" and data.party == "debtor" and is_phone(data.channel)
    if outbound_call and not checked_at_dial:
        decision = await policy_decision(
            session, customer=customer, channel=data.channel, now=data.occurred_at, connected=data.connected
        )
        if not decision.allowed:
            raise ContactRefused(decision)
    if data.direction == "outbound" and data.party == "third_party":
        await _check_third_party(session, customer=customer, data=data)
    loan_id = data.loan_id
    if data.case_id is not None:
        case = await load_case(session, data.case_id)
        if case is None or case["customer_id"] != customer.customer_id:
            raise LookupError(f"case {data.case_id} is not a case of customer {customer.customer_id}")
        loan_id = loan_id or case["loan_id"]
    interaction_id = f"INT-{new_event_id().hex}"
    row = {
        "interaction_id": interaction_id,
        "customer_id": customer.customer_id,
        "case_id": data.case_id,
        "loan_id": loan_id,
        "channel": data.channel,
        "direction": data.direction,
        "party": data.party,
        "connected": data.connected,
        "outcome": data.outcome,
        "note": data.note,
        "agent_id": agent_id,
        "occurred_at": data.occurred_at,
        "next_action_at": data.next_action_at,
    }
    await insert_interaction(session, row)
    if data.case_id is not None:
        await add_timeline(
            session,
            case_id=data.case_id,
            kind="interaction",
            details={"interaction_id": interaction_id, "channel": data.channel, "outcome": data.outcome}
            | ({"next_action_at": data.next_action_at.isoformat()} if data.next_action_at else {}),
            actor=agent_id,
        )
    if data.direction == "outbound":
        await emit(
            session,
            ContactAttemptedV1(
                interaction_id=interaction_id,
                customer_id=customer.customer_id,
                loan_id=loan_id,
                case_id=data.case_id,
                channel=data.channel,
                party=ContactParty(data.party),
                connected=data.connected,
                outcome=data.outcome,
                agent_id=agent_id[:64],
            ),
            customer_id=customer.customer_id,
            trace=trace,
        )
    return row


THIRD_PARTY_LOOKBACK = timedelta(days=7)
# Outcomes that show the debtor was reached (right-party contact).
REACHED = ("right_party_contact", "promise_to_pay", "dispute", "hardship", "refused")


async def _check_third_party(session: AsyncSession, *, customer: CustomerData, data: InteractionData) -> None:
    """Third parties may be contacted only while the debtor is unreachable (no right-party contact lately)."""
    reached = await debtor_reached_at(
        session, customer_id=customer.customer_id, outcomes=REACHED, since=data.occurred_at - THIRD_PARTY_LOOKBACK
    )
    if reached is not None:
        raise ContactRefused(
            Decision(
                False,
                None,
                None,
                f"the debtor was reached on {reached.isoformat()}: third parties may be contacted only while "
                "the debtor is unreachable",
            ),
            rule="third_party_debtor_reachable",
        )
