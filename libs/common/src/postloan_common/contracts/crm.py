"""Events of crm on `crm.activities` (key: customer id)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from postloan_common.contracts.common import (
    ZERO,
    Bucket,
    ContactChannel,
    ContactOutcome,
    Currency,
    Dpd,
    EventData,
    Id,
    Money,
    PositiveMoney,
    Probability,
)

Template = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ReminderSentV1(EventData):
    """An automated reminder was delivered (a message deferred by quiet hours is sent when they end)."""

    event_type: ClassVar[str] = "reminder-sent"
    event_version: ClassVar[int] = 1

    reminder_id: Id
    customer_id: Id
    loan_id: Id | None = None
    case_id: Id | None = None
    channel: ContactChannel
    template: Template
    installment_seq: int | None = Field(default=None, ge=1)
    due_date: date | None = None
    amount_due: Money | None = None
    currency: Currency | None = None
    deferred: bool = False


class ContactParty(StrEnum):
    DEBTOR = "debtor"
    THIRD_PARTY = "third_party"


class ContactAttemptedV1(EventData):
    """A collector or dialler tried to reach someone about a debt; `outcome` uses the codes of docs/domain.md."""

    event_type: ClassVar[str] = "contact-attempted"
    event_version: ClassVar[int] = 1

    interaction_id: Id
    customer_id: Id
    loan_id: Id | None = None
    case_id: Id | None = None
    channel: ContactChannel
    party: ContactParty = ContactParty.DEBTOR
    connected: bool
    outcome: ContactOutcome
    agent_id: Id | None = None


class _PromiseEvent(EventData):
    """Leading fields of the events about one promise to pay."""

    promise_id: Id
    customer_id: Id
    loan_id: Id
    case_id: Id | None = None


class _PromiseDue(_PromiseEvent):
    """A promise measured against what was paid on it."""

    amount: PositiveMoney
    amount_paid: Money
    currency: Currency
    promised_date: date


class PromiseToPayMadeV1(_PromiseEvent):
    """The customer promised to pay `amount` by `promised_date`."""

    event_type: ClassVar[str] = "promise-to-pay-made"
    event_version: ClassVar[int] = 1

    interaction_id: Id | None = None
    amount: PositiveMoney
    currency: Currency
    promised_date: date
    agent_id: Id | None = None


class PromiseKeptV1(_PromiseDue):
    """Payments since the promise reached its amount by its date."""

    event_type: ClassVar[str] = "promise-kept"
    event_version: ClassVar[int] = 1

    kept_on: date


class PromiseBrokenV1(_PromiseDue):
    """The promised date passed with payments short of the amount."""

    event_type: ClassVar[str] = "promise-broken"
    event_version: ClassVar[int] = 1


class CollectionQueue(StrEnum):
    WATCH = "watch"  # a relationship manager watches a loan a high-severity risk alert fired for
    AUTOMATED = "automated"
    PHONE = "phone"
    SENIOR = "senior"
    FIELD = "field"
    RECOVERY = "recovery"


class _CaseEvent(EventData):
    """Leading fields of the events about one collection case."""

    case_id: Id
    customer_id: Id
    loan_id: Id


class ArmRole(StrEnum):
    CHAMPION = "champion"  # the strategy in force: every other arm is compared with it
    CHALLENGER = "challenger"
    CONTROL = "control"  # hold-out: no automated dunning, to measure what dunning itself adds


ArmName = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
# The strategy experiment and arm a case was given when it opened (absent: the case is in no experiment;
# optional so events from before experiments still parse).
EXPERIMENT_DESCRIPTION = "The strategy (experiment) id the case's arm belongs to; absent outside experiments"
ARM_DESCRIPTION = "The arm of the experiment the case was given when it opened, kept for its life"
ARM_ROLE_DESCRIPTION = "The arm's role when the case opened: the champion, a challenger or the hold-out control"


class CaseOpenedV1(_CaseEvent):
    """A collection case was opened for a loan (at most one open case per loan)."""

    event_type: ClassVar[str] = "case-opened"
    event_version: ClassVar[int] = 1

    queue: CollectionQueue
    bucket: Bucket
    dpd: Dpd
    overdue_amount: Money
    currency: Currency
    assignee: Id | None = None
    experiment: Id | None = Field(default=None, description=EXPERIMENT_DESCRIPTION)
    arm: ArmName | None = Field(default=None, description=ARM_DESCRIPTION)
    arm_role: ArmRole | None = Field(default=None, description=ARM_ROLE_DESCRIPTION)


class CaseCloseReason(StrEnum):
    CURED = "cured"
    LOAN_CLOSED = "loan_closed"
    WRITTEN_OFF = "written_off"
    OTHER = "other"


class CaseClosedV1(_CaseEvent):
    """A collection case was closed (the loan cured or closed, or the debt was written off)."""

    event_type: ClassVar[str] = "case-closed"
    event_version: ClassVar[int] = 1

    reason: CaseCloseReason
    closed_on: date
    amount_collected: Money = ZERO
    currency: Currency
    experiment: Id | None = Field(default=None, description=EXPERIMENT_DESCRIPTION)
    arm: ArmName | None = Field(default=None, description=ARM_DESCRIPTION)
    arm_role: ArmRole | None = Field(default=None, description=ARM_ROLE_DESCRIPTION)


class _PlacementEvent(_CaseEvent):
    """Leading fields of the events about one placement of a case with a collection agency."""

    placement_id: Id
    agency_id: Id = Field(description="The agency: the subject of its tokens")


class CasePlacedV1(_PlacementEvent):
    """A recovery-queue case was placed with a collection agency at its commission rate."""

    event_type: ClassVar[str] = "case-placed"
    event_version: ClassVar[int] = 1
    commission_rate: Probability = Field(description="The agency's share of what it recovers, as a fraction")
    placed_on: date = Field(description="The business date of the placement")


class CaseRecalledV1(_PlacementEvent):
    """A placement ended: the case came back from the agency."""

    event_type: ClassVar[str] = "case-recalled"
    event_version: ClassVar[int] = 1
    recalled_on: date = Field(description="The business date the case came back")


EVENTS: tuple[type[EventData], ...] = (
    ReminderSentV1,
    ContactAttemptedV1,
    PromiseToPayMadeV1,
    PromiseKeptV1,
    PromiseBrokenV1,
    CaseOpenedV1,
    CaseClosedV1,
    CasePlacedV1,
    CaseRecalledV1,
)
