"""Request and response bodies of the crm API."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from postloan_common.contracts import ContactChannel, ContactOutcome, PositiveMoney
from postloan_common.contracts.common import TimeZone

# PostgreSQL text cannot hold NUL: free text carrying one is refused with 422 before any statement runs.
NO_NUL = r"^[^\x00]*$"
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")]
PhoneNumber = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 \-]{4,24}$")]
Language = Literal["zh-CN", "en"]
Jurisdiction = Literal["CN", "US"]
ReminderChannel = Literal["sms", "email", "app_push"]


class _In(BaseModel):
    # Every request body refuses unknown fields; subclasses' own model_config only adds examples.
    model_config = ConfigDict(extra="forbid")


class PhoneIn(_In):
    number: PhoneNumber
    kind: Literal["mobile", "home", "work", "other"] = "mobile"


class ConsentIn(_In):
    channel: ContactChannel
    purpose: Annotated[str, StringConstraints(pattern=r"^(collection|care|marketing)$")] = "collection"
    granted: bool
    recorded_on: date | None = None


class RelatedPartyIn(_In):
    name: Name
    relation: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=NO_NUL)]
    customer_id: Id | None = None
    phones: list[PhoneIn] = Field(default_factory=list, max_length=10)


class AddressIn(_In):
    line1: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
    line2: Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)] | None = None
    city: Annotated[str, StringConstraints(max_length=100, pattern=NO_NUL)] | None = None
    province: Annotated[str, StringConstraints(max_length=100, pattern=NO_NUL)] | None = None
    postal_code: Annotated[str, StringConstraints(max_length=20, pattern=NO_NUL)] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None


class CustomerIn(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "C-1001",
                    "name": "Li Wei",
                    "national_id": "110101199001011234",
                    "phones": [{"number": "+86 138 0013 8000", "kind": "mobile"}],
                    "emails": ["li.wei@example.com"],
                    "timezone": "Asia/Shanghai",
                    "language": "zh-CN",
                    "segment": "retail",
                }
            ]
        },
    )

    customer_id: Id
    name: Name
    national_id: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]
    phones: list[PhoneIn] = Field(default_factory=list, max_length=10)
    emails: list[Email] = Field(default_factory=list, max_length=10)
    timezone: TimeZone = "Asia/Shanghai"
    language: Language = "zh-CN"
    birth_date: date | None = None
    segment: Literal["retail", "corporate"] | None = None
    preferred_channel: ReminderChannel | None = None
    jurisdiction: Jurisdiction | None = None
    consents: list[ConsentIn] | None = Field(default=None, max_length=50)
    related_parties: list[RelatedPartyIn] | None = Field(default=None, max_length=20)
    address: AddressIn | None = None


class CustomerPatch(_In):
    """Only the fields given change; lists given replace the stored ones (consents are merged)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "preferred_channel": "sms",
                    "consents": [{"channel": "phone", "purpose": "marketing", "granted": False}],
                }
            ]
        },
    )

    name: Name | None = None
    national_id: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)] | None = None
    phones: list[PhoneIn] | None = Field(default=None, max_length=10)
    emails: list[Email] | None = Field(default=None, max_length=10)
    timezone: TimeZone | None = None
    language: Language | None = None
    birth_date: date | None = None
    segment: Literal["retail", "corporate"] | None = None
    preferred_channel: ReminderChannel | None = None
    jurisdiction: Jurisdiction | None = None
    consents: list[ConsentIn] | None = Field(default=None, max_length=50)
    related_parties: list[RelatedPartyIn] | None = Field(default=None, max_length=20)
    address: AddressIn | None = None

    @model_validator(mode="after")
    def _required_fields_stay_set(self) -> Self:
        # These columns always hold a value: a patch can change them, never clear them.
        cleared = [
            f
            for f in ("name", "national_id", "timezone", "language")
            if f in self.model_fields_set and getattr(self, f) is None
        ]
        if cleared:
            raise ValueError(f"{', '.join(cleared)} cannot be null")
        return self


class InteractionIn(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "channel": "phone",
                    "direction": "outbound",
                    "party": "debtor",
                    "connected": True,
                    "outcome": "promise_to_pay",
                    "case_id": "CASE-L-1001-1",
                    "note": "Will pay on Friday",
                }
            ]
        },
    )

    channel: ContactChannel = ContactChannel.PHONE
    direction: Literal["outbound", "inbound"] = "outbound"
    party: Literal["debtor", "third_party"] = "debtor"
    connected: bool
    outcome: ContactOutcome
    case_id: Id | None = None
    loan_id: Id | None = None
    note: Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)] | None = None
    # When the call took place (default: now); must carry a time zone.
    occurred_at: datetime | None = None
    # A callback: when to act on the case next (with a time zone); it orders the collector's worklist.
    next_action_at: datetime | None = None


class AssignIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{"agent_id": "agent-7"}]})

    agent_id: Id


class PromiseIn(_In):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"amount": "1500.00", "promised_date": "2026-12-11", "interaction_id": None}]},
    )

    amount: PositiveMoney
    promised_date: date
    interaction_id: Id | None = None


class PolicyIn(_In):
    jurisdiction: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    channel: ContactChannel
    quiet_start: time | None = None
    quiet_end: time | None = None
    max_per_day: int | None = Field(default=None, ge=0, le=1000)
    max_per_window: int | None = Field(default=None, ge=0, le=10000)
    window_days: int = Field(default=7, ge=1, le=90)
    counting: Literal["attempts", "connected"] = "attempts"


class DunningStepIn(_In):
    dpd: int = Field(ge=1, le=3650)
    channel: Literal["sms", "email", "app_push", "letter"]
    template: Literal["dunning-overdue", "dunning-reminder", "dunning-notice", "dunning-pre-call"]


class LadderIn(_In):
    queue: Literal["automated", "phone", "senior", "field", "recovery"]
    bucket: Annotated[str, StringConstraints(pattern=r"^(\*|M[1-6]\+?)$")] = "*"
    # An empty ladder turns dunning off for its queue and bucket.
    steps: list[DunningStepIn] = Field(max_length=20)

    @model_validator(mode="after")
    def _one_step_per_day(self) -> Self:
        offsets = [s.dpd for s in self.steps]
        if len(set(offsets)) != len(offsets):
            raise ValueError("each DPD offset of a ladder may be given once")
        return self


class PolicyPut(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "policies": [
                        {
                            "jurisdiction": "CN",
                            "channel": "phone",
                            "quiet_start": "21:00:00",
                            "quiet_end": "08:00:00",
                            "max_per_day": 3,
                            "max_per_window": 10,
                            "window_days": 7,
                            "counting": "attempts",
                        }
                    ],
                    "ladders": [
                        {
                            "queue": "automated",
                            "bucket": "*",
                            "steps": [
                                {"dpd": 1, "channel": "sms", "template": "dunning-overdue"},
                                {"dpd": 3, "channel": "email", "template": "dunning-overdue"},
                            ],
                        }
                    ],
                }
            ]
        },
    )

    policies: list[PolicyIn] = Field(default_factory=list, max_length=200)
    ladders: list[LadderIn] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _one_rule_per_pair(self) -> Self:
        if not self.policies and not self.ladders:
            raise ValueError("give at least one policy or ladder")
        pairs = [(p.jurisdiction, p.channel) for p in self.policies]
        if len(set(pairs)) != len(pairs):
            raise ValueError("each (jurisdiction, channel) pair may be given once")
        keys = [(ladder.queue, ladder.bucket) for ladder in self.ladders]
        if len(set(keys)) != len(keys):
            raise ValueError("each (queue, bucket) ladder may be given once")
        return self


class AgentIn(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Zhang Min",
                    "queues": ["phone", "senior"],
                    "capacity": 120,
                    "active": True,
                    "team": "team-east",
                }
            ]
        },
    )

    name: Name
    queues: list[Literal["watch", "automated", "phone", "senior", "field", "recovery"]] = Field(min_length=1)
    capacity: int | None = Field(default=None, ge=1, le=100000)
    active: bool = True
    team: Id | None = None


TicketKind = Literal["complaint", "hardship_request", "restructuring_request", "data_correction"]
TicketStatus = Literal["open", "in_progress", "resolved", "closed"]


class TicketIn(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "C-1001",
                    "kind": "hardship_request",
                    "subject": "Lost job, asks for a payment holiday",
                    "loan_id": "L-1001",
                }
            ]
        },
    )

    customer_id: Id
    kind: TicketKind
    subject: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
    description: Annotated[str, StringConstraints(max_length=5000, pattern=NO_NUL)] | None = None
    loan_id: Id | None = None
    owner: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)] | None = None


class TicketPatch(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "in_progress", "owner": "care-team"}]})

    status: TicketStatus | None = None
    owner: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)] | None = None


class Page(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None = None


class TouchpointPatch(_In):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "done", "note": "Called, congratulated on the last payment"}]},
    )

    status: Literal["done", "skipped", "planned"]
    note: Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)] | None = None
