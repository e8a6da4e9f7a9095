"""Response bodies of the crm API, so generated clients get types instead of `unknown` (issue 17).

Each model names the fields a body has always carried; `extra="allow"` keeps any further column
(a new one from another change) in the body rather than silently dropping it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from postloan_common.contracts import Money
from postloan_common.contracts.common import Probability
from postloan_common.web.openapi import MaskedDate, Timestamp


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class PhoneOut(_Out):
    number: str = Field(description="Masked (e.g. 138****5678) without pii:read")
    kind: str


class ConsentOut(_Out):
    channel: str
    granted: bool
    purpose: str
    recorded_on: date | None


class RelatedPartyOut(_Out):
    name: str
    relation: str
    customer_id: str | None
    phones: list[PhoneOut]


class AddressOut(_Out):
    """Without pii:read only city, province and country are given; the rest reads `***`."""

    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    province: str | None = None
    postal_code: str | None = None
    country: str | None = None


class CustomerOut(_Out):
    """A customer as the caller may see it: contact points, ids, address and birth date masked without pii:read."""

    customer_id: str
    name: str
    national_id: str
    timezone: str
    language: str
    phones: list[PhoneOut]
    emails: list[str]
    birth_date: MaskedDate | None
    segment: str | None
    preferred_channel: str | None
    jurisdiction: str | None
    consents: list[ConsentOut]
    related_parties: list[RelatedPartyOut]
    address: AddressOut | None
    pii_masked: bool
    source: str | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class CaseOut(_Out):
    case_id: str
    loan_id: str
    customer_id: str
    status: str = Field(description="open | closed")
    queue: str
    bucket: str
    dpd: int
    overdue_amount: Money
    currency: str
    assignee: str | None
    opened_on: date
    closed_on: date | None
    close_reason: str | None
    amount_collected: Money
    experiment: str | None = Field(default=None, description="The strategy experiment the case joined when it opened")
    arm: str | None = Field(default=None, description="Its arm there, kept for the case's life")
    arm_role: str | None = Field(default=None, description="champion | challenger | control")
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class CaseEventOut(_Out):
    at: Timestamp
    business_date: date | None
    kind: str
    actor: str | None
    details: dict[str, Any]


class PromiseOut(_Out):
    promise_id: str
    case_id: str | None
    loan_id: str
    customer_id: str
    interaction_id: str | None
    amount: Money
    currency: str
    promised_date: date
    made_on: date
    amount_paid: Money
    status: str = Field(description="open | kept | broken")
    resolved_on: date | None
    agent_id: str | None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class CaseDetailOut(CaseOut):
    """A case with its timeline (oldest first) and promises."""

    timeline: list[CaseEventOut]
    promises: list[PromiseOut]


class InteractionFields(BaseModel):
    """The leading fields of a logged interaction, as the customer's and the case's bodies both give them."""

    interaction_id: str
    customer_id: str
    case_id: str | None
    loan_id: str | None
    channel: str
    direction: str
    party: str
    connected: bool
    outcome: str
    note: str | None
    agent_id: str | None


class InteractionOut(InteractionFields, _Out):
    occurred_at: Timestamp
    next_action_at: Timestamp | None = None
    created_at: Timestamp | None = None


class CommunicationOut(_Out):
    communication_id: str
    customer_id: str
    loan_id: str | None
    case_id: str | None
    kind: str
    channel: str | None
    recipient: str | None = Field(description="Masked without pii:read")
    template: str
    language: str
    subject: str | None
    body: str
    status: str = Field(description="queued | deferred | sent | failed | suppressed")
    reason: str | None
    send_after: Timestamp
    was_deferred: bool
    attempts: int
    last_error: str | None
    provider_message_id: str | None
    installment_seq: int | None
    due_date: date | None
    amount_due: Money | None
    currency: str | None
    payment_reference: str | None
    step: int | None = Field(default=None, description="The DPD offset of a dunning message's ladder step")
    sent_at: Timestamp | None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class LoanRiskOut(_Out):
    loan_id: str
    customer_id: str
    score: int | None
    pd: Probability | None
    grade: str | None
    model_version: str | None
    reason_codes: list[str] | None
    classification: str | None
    ifrs9_stage: int | None
    ecl: Money | None
    updated_at: Timestamp | None = None


class LoanOut(_Out):
    loan_id: str
    customer_id: str
    status: str
    product: str | None
    currency: str | None
    principal: Money | None
    dpd: int
    bucket: str
    overdue: Money
    outstanding: Money | None
    next_due_date: date | None
    next_due_amount: Money | None
    maturity_date: date | None
    closed_on: date | None
    as_of: date | None
    updated_at: Timestamp | None = None
    risk: LoanRiskOut | None = None


class TouchpointOut(_Out):
    id: int
    customer_id: str
    loan_id: str | None
    kind: str = Field(description="maturity | hardship_follow_up | birthday")
    due_on: date
    status: str = Field(description="planned | done | skipped")
    note: str | None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class TicketOut(_Out):
    ticket_id: str
    customer_id: str
    loan_id: str | None
    kind: str
    status: str
    owner: str | None
    subject: str
    description: str | None
    sla_due_at: Timestamp
    resolved_at: Timestamp | None
    created_by: str
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    sla_breached: bool | None = Field(default=None, description="Given by the ticket routes, not the overview")


class CustomerOverviewOut(_Out):
    """Customer 360: profile, loans with their latest risk, open cases, recent contact and open work."""

    profile: CustomerOut
    loans: list[LoanOut]
    latest_risk: LoanRiskOut | None
    open_case: CaseOut | None
    open_cases: list[CaseOut]
    open_promises: list[PromiseOut]
    recent_interactions: list[InteractionOut]
    recent_communications: list[CommunicationOut]
    care_touchpoints: list[TouchpointOut]
    tickets: list[TicketOut]


class AgentOut(_Out):
    agent_id: str
    name: str
    queues: list[str]
    capacity: int | None
    active: bool
    team: str | None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None


class PolicyOut(_Out):
    jurisdiction: str
    channel: str
    quiet_start: str | None = Field(description="HH:MM:SS local time, or null")
    quiet_end: str | None
    max_per_day: int | None
    max_per_window: int | None
    window_days: int
    counting: str = Field(description="attempts | connected")


class DunningStepOut(_Out):
    dpd: int
    channel: str = Field(description="sms | email | app_push | letter")
    template: str


class LadderOut(_Out):
    queue: str
    bucket: str = Field(description="a bucket, or * for every bucket of the queue")
    steps: list[DunningStepOut]


class ContactPolicyOut(_Out):
    """The contact rules in force, one per (jurisdiction, channel), and the dunning ladders."""

    policies: list[PolicyOut]
    ladders: list[LadderOut] = []
