"""The vocabulary of the simulated core bank: borrower archetypes, loans, planned actions, emitted events."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from postloan_common.contracts.core_banking import CustomerUpsertedV1
from postloan_common.messaging.envelope import Envelope
from postloan_dev.simulator.experiment import DunningExperiment
from postloan_dev.simulator.flows import Misuse
from postloan_dev.simulator.ledger import PENALTY_MULTIPLIER, Due, Payment, Position, add_months, replay
from postloan_dev.simulator.portfolio import Product

_ID_NAMESPACE = UUID("6f1c2a9e-52d4-4c55-9a0e-3d1f7b8c2e41")
CURRENCY = "CNY"
PLAN_AHEAD_DAYS = 5
WRITE_OFF_DPD = 180
# Default = 90+ DPD within 12 months of observation (docs/domain.md, behavioural score).
DEFAULT_DPD = 90
OBSERVATION_DAYS = 365
DETERIORATION_DAYS = 60


@dataclass(frozen=True)
class Archetype:
    name: str
    weight: float
    alpha: float  # propensity ~ Beta(alpha, beta)
    beta: float
    late: float  # share of installments paid 1..late_days late
    late_days: int
    partial: float  # share paid in two parts
    miss: float  # share missed and cured later
    bounce: float  # share of direct debits that bounce
    prepay: float  # chance per installment of paying the whole loan off
    channels: tuple[tuple[str, float], ...]
    default_at_once: bool = False  # a defaulter stops from the first installment


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("prime", 0.50, 1.0, 99.0, 0.03, 3, 0.0, 0.0, 0.02, 0.004,
              (("direct-debit", 0.7), ("mobile-app", 0.2), ("bank-transfer", 0.1))),
    Archetype("late_payer", 0.18, 2.0, 38.0, 0.45, 10, 0.05, 0.05, 0.02, 0.0,
              (("bank-transfer", 0.5), ("mobile-app", 0.4), ("counter", 0.1))),
    Archetype("partial_payer", 0.10, 2.0, 23.0, 0.15, 7, 0.5, 0.05, 0.02, 0.0,
              (("bank-transfer", 0.5), ("mobile-app", 0.5))),
    Archetype("bouncer", 0.07, 2.0, 18.0, 0.10, 5, 0.0, 0.03, 0.2, 0.0, (("direct-debit", 1.0),)),
    Archetype("distressed", 0.12, 3.0, 9.0, 0.30, 20, 0.15, 0.12, 0.05, 0.0,
              (("bank-transfer", 0.6), ("counter", 0.4))),
    Archetype("early_default", 0.03, 8.0, 2.0, 0.2, 10, 0.1, 0.2, 0.1, 0.0,
              (("bank-transfer", 0.5), ("direct-debit", 0.5)), default_at_once=True),
)  # fmt: skip
_SLOW_CHANNELS = ("bank-transfer", "counter")
BOUNCE_REASON = "direct debit returned: insufficient funds"
WRITE_OFF_REASON = f"uncollectable: {WRITE_OFF_DPD}+ days past due"


@dataclass(frozen=True)
class SimulationConfig:
    seed: int
    loans: int
    months: int
    start: date
    # Loans disbursed before the start are booked on the first day; their first due date is on or after it.
    pre_start_days: int = 28
    # Disbursements continue this many days into the run (None: a quarter of it, at most 90 days).
    booking_days: int | None = None
    # Write off loans at 180 DPD (about half of them); off when the transport has no write-off.
    write_offs: bool = True
    customer_reuse: float = 0.08
    source: str = "core-banking"
    # A strategy experiment whose dunned borrowers answer dunning (None: no one is dunned, as before).
    experiment: DunningExperiment | None = None

    def __post_init__(self) -> None:
        if self.loans < 1 or self.months < 1:
            raise ValueError("loans and months must be ≥ 1")
        if not 0 <= self.pre_start_days <= 28:
            raise ValueError("pre_start_days must be in 0..28, so no installment falls due before the start")

    @property
    def end(self) -> date:
        """The first day after the simulation (the business date it leaves the platform at)."""
        return add_months(self.start, self.months)


class LoanStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    CLOSED = "closed"
    WRITTEN_OFF = "written_off"


@dataclass
class Borrower:
    customer_id: str
    record: CustomerUpsertedV1
    archetype: Archetype
    propensity: float
    will_default: bool
    channel: str
    observed_from: date
    onset: date | None = None
    announced: bool = False

    @property
    def stress(self) -> float:
        """How much more often than its archetype's base rate this borrower slips (grows with propensity)."""
        return 0.5 + 5.0 * self.propensity


@dataclass
class SimLoan:
    number: int
    loan_id: str
    borrower: Borrower
    product: Product
    branch: str
    principal: Decimal
    annual_rate: Decimal
    disbursed_on: date
    book_day: date
    schedule: list[Due]
    rng: random.Random
    writes_off: bool
    status: LoanStatus = LoanStatus.PENDING
    payments: list[Payment] = field(default_factory=list)
    posted: int = 0
    pending_reversals: set[str] = field(default_factory=set)
    oldest_open_due: date | None = None
    ended_on: date | None = None
    purpose: str = "other"
    # The misuse drawn for the loan's proceeds and the day its first misusing flow reaches the platform.
    misuse: Misuse | None = None
    misuse_on: date | None = None
    # Installments a dunned borrower paid early in answer to dunning: (seq, the day they would have paid, the day
    # they paid).
    dunning_answers: list[tuple[int, date, date]] = field(default_factory=list)

    @property
    def penalty_rate(self) -> Decimal:
        return self.annual_rate * PENALTY_MULTIPLIER

    def position(self, as_of: date) -> Position:
        return replay(self.schedule, self.payments, penalty_rate=self.penalty_rate, as_of=as_of)

    def dpd_on(self, day: date) -> int:
        return max(0, (day - self.oldest_open_due).days) if self.oldest_open_due else 0


class PayKind(StrEnum):
    DUE = "due"  # everything open up to and including the target installment
    SHARE = "share"  # a share of that
    PAYOFF = "payoff"  # the whole loan


@dataclass(frozen=True, slots=True)
class Pay:
    loan: SimLoan
    kind: PayKind
    target_due: date
    value_date: date
    channel: str
    share: Decimal = Decimal(1)
    bounces: bool = False


@dataclass(frozen=True, slots=True)
class Reverse:
    loan: SimLoan
    repayment_id: str
    repay: Pay | None  # the borrower pays again after the bounce


@dataclass(frozen=True, slots=True)
class PlanInstallment:
    loan: SimLoan
    seq: int


@dataclass(frozen=True, slots=True)
class Emitted:
    """One record to publish: topic, key and envelope."""

    topic: str
    key: str
    envelope: Envelope
