"""The simulated core bank, day by day: a seeded, pure model of a loan book and its borrowers (no I/O).

Every borrower has an archetype and a latent propensity to default within 12 months (drawn from
the archetype's Beta distribution). Whether the borrower defaults is drawn once from that
propensity; a defaulter's payments deteriorate in the two months before an onset date and stop
from it. Everyone else pays on time, late, in parts, by direct debits that bounce (and are
reversed a day or two later), back-valued through slow channels, or misses an installment and
cures it later — more often the higher the propensity, so the behaviour carries the signal a
risk model can learn, and the realised 90+ DPD flag shows how much of it the truth allows.

`Simulation.play(day)` returns the events of one business day, in publishing order, with
envelope ids and times derived from the seed: two runs of one seed produce identical topics.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from uuid import UUID, uuid5

from pydantic import BaseModel

from postloan_common.catalog import CORE_BANKING_CUSTOMERS, CORE_BANKING_LOANS
from postloan_common.contracts.core_banking import (
    CustomerUpsertedV1,
    LoanBookedV1,
    LoanWrittenOffV1,
    RepaymentPostedV1,
    RepaymentReversedV1,
)
from postloan_common.contracts.registry import make_envelope
from postloan_common.messaging.envelope import Envelope
from postloan_common.simulator.ledger import (
    PENALTY_MULTIPLIER,
    Due,
    Payment,
    Position,
    add_months,
    apply_on,
    cents,
    monthly_schedule,
    replay,
)
from postloan_common.simulator.portfolio import (
    Product,
    choose_branch,
    choose_principal,
    choose_product,
    new_customer,
    pick_weighted,
    with_new_phone,
)

_ID_NAMESPACE = UUID("6f1c2a9e-52d4-4c55-9a0e-3d1f7b8c2e41")
CURRENCY = "CNY"
PLAN_AHEAD_DAYS = 5
WRITE_OFF_DPD = 180
# Default = 90+ DPD within 12 months of observation (DOMAIN, behavioural score).
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


@dataclass(frozen=True)
class TruthRow:
    loan_id: str
    customer_id: str
    product: str
    branch: str
    archetype: str
    propensity: float
    will_default: bool
    onset: date | None
    default_90dpd: bool
    max_dpd: int
    observed_from: date
    observed_to: date
    status: str


TRUTH_COLUMNS = (
    "loan_id", "customer_id", "product", "branch", "archetype", "propensity", "will_default", "onset",
    "default_90dpd", "max_dpd", "observed_from", "observed_to", "status",
)  # fmt: skip


class Simulation:
    """A seeded loan book played one business day at a time (call `play` for each of `days` in order)."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.days: list[date] = [config.start + timedelta(days=k) for k in range((config.end - config.start).days)]
        self.stats: Counter[str] = Counter()
        self._played = 0
        self._seq = 0
        self._day_index = 0
        self._bookings: dict[date, list[SimLoan]] = defaultdict(list)
        self._plans: dict[date, list[PlanInstallment]] = defaultdict(list)
        self._actions: dict[date, list[Pay | Reverse]] = defaultdict(list)
        self._updates: dict[date, list[Borrower]] = defaultdict(list)
        self._defaulting: list[SimLoan] = []
        self.loans: list[SimLoan] = []
        self.borrowers: list[Borrower] = []
        self._build()

    # --- the book --------------------------------------------------------------------------------

    def _build(self) -> None:
        cfg = self.config
        rng = random.Random(f"postloan-simulator:{cfg.seed}:book")
        booking_days = cfg.booking_days if cfg.booking_days is not None else min(90, len(self.days) // 4)
        window = cfg.pre_start_days + max(1, booking_days)
        disbursals = sorted(
            cfg.start - timedelta(days=cfg.pre_start_days) + timedelta(days=rng.randrange(window))
            for _ in range(cfg.loans)
        )
        by_segment: dict[str, list[Borrower]] = defaultdict(list)
        for number, disbursed_on in enumerate(disbursals, start=1):
            product = choose_product(rng)
            branch, city = choose_branch(rng)
            book_day = max(disbursed_on, cfg.start)
            earlier = by_segment[product.segment]
            if earlier and rng.random() < cfg.customer_reuse:
                borrower = rng.choice(earlier)
            else:
                borrower = self._new_borrower(rng, segment=product.segment, city=city, book_day=book_day)
                earlier.append(borrower)
            loan_id = f"L-{cfg.seed}-{number:06d}"
            principal = choose_principal(rng, product)
            rate = Decimal(rng.choice(product.rates))
            first_due = add_months(disbursed_on, 1)
            schedule = monthly_schedule(
                method=product.method,
                principal=principal,
                annual_rate=rate,
                disbursed_on=disbursed_on,
                first_due_date=first_due,
                months=product.months,
                fee=cents(principal * product.monthly_fee_share),
            )
            loan = SimLoan(
                number=number,
                loan_id=loan_id,
                borrower=borrower,
                product=product,
                branch=branch,
                principal=principal,
                annual_rate=rate,
                disbursed_on=disbursed_on,
                book_day=book_day,
                schedule=schedule,
                rng=random.Random(f"postloan-simulator:{cfg.seed}:{loan_id}"),
                writes_off=cfg.write_offs and rng.random() < 0.5,
            )
            self.loans.append(loan)
            self._bookings[book_day].append(loan)
            self._plans[max(book_day, schedule[0].due_date - timedelta(days=PLAN_AHEAD_DAYS))].append(
                PlanInstallment(loan, 1)
            )
            if borrower.will_default:
                self._defaulting.append(loan)

    def _new_borrower(self, rng: random.Random, *, segment: str, city: str, book_day: date) -> Borrower:
        n = len(self.borrowers) + 1
        customer_id = f"C-{self.config.seed}-{n:06d}"
        archetype = pick_weighted(rng, ARCHETYPES, tuple(a.weight for a in ARCHETYPES))
        propensity = rng.betavariate(archetype.alpha, archetype.beta)
        will_default = rng.random() < propensity
        channel = pick_weighted(rng, tuple(c for c, _ in archetype.channels), tuple(w for _, w in archetype.channels))
        borrower = Borrower(
            customer_id=customer_id,
            record=new_customer(rng, customer_id=customer_id, n=n, segment=segment, city=city),
            archetype=archetype,
            propensity=propensity,
            will_default=will_default,
            channel=channel,
            observed_from=book_day,
        )
        if will_default:
            # Late enough to show deterioration first, early enough to reach 90 DPD within 12 months.
            delay = 0 if archetype.default_at_once else rng.randrange(30, OBSERVATION_DAYS - DEFAULT_DPD - 30)
            borrower.onset = book_day + timedelta(days=delay)
        if rng.random() < 0.05:
            self._updates[book_day + timedelta(days=rng.randrange(1, 365))].append(borrower)
        self.borrowers.append(borrower)
        return borrower

    # --- one day ---------------------------------------------------------------------------------

    def play(self, day: date) -> list[Emitted]:
        """The events of business day `day`, in publishing order."""
        if self._played >= len(self.days) or day != self.days[self._played]:
            expected = self.days[self._played] if self._played < len(self.days) else None
            raise ValueError(f"days are played in order: expected {expected}, got {day}")
        self._played += 1
        self._day_index = 0
        out: list[Emitted] = []
        for loan in self._bookings.pop(day, ()):
            out.extend(self._book(loan, day))
        for borrower in self._updates.pop(day, ()):
            borrower.record = with_new_phone(random.Random(f"{borrower.customer_id}:{day}"), borrower.record)
            out.append(self._customer_event(borrower, day))
            self.stats["customer-updates"] += 1
        for plan in self._plans.pop(day, ()):
            self._plan(plan.loan, plan.seq, day)
        for action in self._actions.pop(day, ()):
            event = self._pay(action, day) if isinstance(action, Pay) else self._reverse(action, day)
            if event is not None:
                out.append(event)
        if self.config.write_offs:
            out.extend(self._write_offs(day))
        self.stats["events"] += len(out)
        return out

    def run(self) -> Iterator[tuple[date, list[Emitted]]]:
        """Play every remaining day."""
        for day in self.days[self._played :]:
            yield day, self.play(day)

    def _book(self, loan: SimLoan, day: date) -> list[Emitted]:
        out: list[Emitted] = []
        borrower = loan.borrower
        if not borrower.announced:
            borrower.announced = True
            out.append(self._customer_event(borrower, day))
            self.stats["customers"] += 1
        product = loan.product
        common = {
            "loan_id": loan.loan_id,
            "customer_id": borrower.customer_id,
            "product": product.code,
            "branch": loan.branch,
            "currency": CURRENCY,
            "principal": loan.principal,
            "annual_rate": loan.annual_rate,
            "disbursed_on": loan.disbursed_on,
        }
        if product.explicit:
            installments = [
                {"seq": d.seq, "due_date": d.due_date, "principal": d.principal, "interest": d.interest, "fee": d.fee}
                for d in loan.schedule
            ]
            data = LoanBookedV1.model_validate({**common, "installments": installments})
        else:
            terms = {"method": product.method, "months": product.months, "first_due_date": loan.schedule[0].due_date}
            data = LoanBookedV1.model_validate({**common, "terms": terms})
        loan.status = LoanStatus.ACTIVE
        loan.oldest_open_due = loan.schedule[0].due_date
        out.append(self._event(CORE_BANKING_LOANS, loan.loan_id, data, day))
        self.stats["loans"] += 1
        return out

    def _customer_event(self, borrower: Borrower, day: date) -> Emitted:
        return self._event(CORE_BANKING_CUSTOMERS, borrower.customer_id, borrower.record, day)

    # --- behaviour -------------------------------------------------------------------------------

    def _plan(self, loan: SimLoan, seq: int, today: date) -> None:
        """Decide how the borrower meets installment `seq` (called a few days before it falls due)."""
        if seq < len(loan.schedule):
            nxt = loan.schedule[seq]
            self._plans[max(today + timedelta(days=1), nxt.due_date - timedelta(days=PLAN_AHEAD_DAYS))].append(
                PlanInstallment(loan, seq + 1)
            )
        if loan.status is LoanStatus.WRITTEN_OFF:
            return
        rng, borrower = loan.rng, loan.borrower
        archetype = borrower.archetype
        due = loan.schedule[seq - 1].due_date

        def at(day: date) -> date:
            return max(day, today)

        def pay(kind: PayKind, day: date, *, share: Decimal = Decimal(1), bounces: bool = False) -> None:
            day = at(day)
            channel = borrower.channel
            post_on = day
            if channel in _SLOW_CHANNELS and rng.random() < 0.2:
                # The money left the borrower's account on `day`; the bank books it a few days later.
                post_on = day + timedelta(days=rng.randint(1, 3))
            self._actions[post_on].append(Pay(loan, kind, due, day, channel, share, bounces))

        onset = borrower.onset
        if onset is not None and due >= onset:
            if rng.random() < 0.05:  # a token payment now and then, not enough to cure
                pay(PayKind.SHARE, due + timedelta(days=rng.randint(5, 40)), share=_share(rng, 0.1, 0.3))
            return
        if onset is not None and due >= onset - timedelta(days=DETERIORATION_DAYS):
            pay(PayKind.DUE, due + timedelta(days=rng.randint(5, 25)))
            return
        if rng.random() < archetype.prepay:
            pay(PayKind.PAYOFF, due - timedelta(days=rng.randint(0, 3)))
            return
        stress = borrower.stress
        miss = min(0.5, archetype.miss * stress)
        partial = min(0.6, archetype.partial * stress)
        late = min(0.8, archetype.late * stress)
        r = rng.random()
        if r < miss:
            # Nothing at the due date; the arrears are paid within 75 days (or with the next installment).
            pay(PayKind.DUE, due + timedelta(days=rng.randint(20, 75)))
        elif r < miss + partial:
            pay(PayKind.SHARE, due - timedelta(days=rng.randint(0, 2)), share=_share(rng, 0.3, 0.8))
            pay(PayKind.DUE, due + timedelta(days=rng.randint(2, 20)))
        elif r < miss + partial + late:
            pay(PayKind.DUE, due + timedelta(days=rng.randint(1, archetype.late_days)))
        else:
            bounces = borrower.channel == "direct-debit" and rng.random() < archetype.bounce
            pay(PayKind.DUE, due - timedelta(days=rng.randint(0, 3)), bounces=bounces)

    def _pay(self, action: Pay, day: date) -> Emitted | None:
        loan = action.loan
        if loan.status is not LoanStatus.ACTIVE:
            return None
        position = loan.position(day)
        if action.kind is PayKind.PAYOFF:
            amount = position.total_outstanding
        else:
            amount = position.owed_through(action.target_due)
            if action.kind is PayKind.SHARE:
                amount = cents(amount * action.share)
        if amount <= 0:
            return None
        value_date = max(min(action.value_date, day), loan.disbursed_on)
        loan.posted += 1
        repayment_id = f"R-{self.config.seed}-{loan.number:06d}-{loan.posted:03d}"
        payment = Payment(repayment_id, amount, value_date, loan.posted)
        loan.payments.append(payment)
        self._settle(loan, apply_on(position, payment) if value_date == day else loan.position(day), day)
        self.stats["repayments"] += 1
        if value_date < day:
            self.stats["back-valued"] += 1
        if action.kind is PayKind.SHARE:
            self.stats["partial"] += 1
        if action.bounces:
            loan.pending_reversals.add(repayment_id)
            reverse_on = day + timedelta(days=loan.rng.randint(1, 2))
            again = reverse_on + timedelta(days=loan.rng.randint(1, 8))
            repay = Pay(loan, action.kind, action.target_due, again, "bank-transfer", action.share)
            self._actions[reverse_on].append(Reverse(loan, repayment_id, repay))
        data = RepaymentPostedV1(
            loan_id=loan.loan_id,
            repayment_id=repayment_id,
            amount=amount,
            value_date=value_date,
            channel=action.channel,
            currency=CURRENCY,
        )
        return self._event(CORE_BANKING_LOANS, loan.loan_id, data, day)

    def _reverse(self, action: Reverse, day: date) -> Emitted | None:
        loan = action.loan
        if loan.status is LoanStatus.WRITTEN_OFF:
            return None
        loan.payments = [p for p in loan.payments if p.repayment_id != action.repayment_id]
        loan.pending_reversals.discard(action.repayment_id)
        self._settle(loan, loan.position(day), day)
        if action.repay is not None:
            self._actions[action.repay.value_date].append(action.repay)
        self.stats["reversals"] += 1
        data = RepaymentReversedV1(
            loan_id=loan.loan_id, repayment_id=action.repayment_id, reason=BOUNCE_REASON, reversed_on=day
        )
        return self._event(CORE_BANKING_LOANS, loan.loan_id, data, day)

    def _settle(self, loan: SimLoan, position: Position, day: date) -> None:
        """Refresh the loan's status and oldest open due date from its new position."""
        loan.status = LoanStatus.CLOSED if position.paid_off else LoanStatus.ACTIVE
        loan.ended_on = day if position.paid_off else None
        open_dues = [i.due.due_date for i in position.installments if i.settled_on is None]
        loan.oldest_open_due = min(open_dues) if open_dues else None

    def _write_offs(self, day: date) -> list[Emitted]:
        out: list[Emitted] = []
        for loan in self._defaulting:
            if (
                not loan.writes_off
                or loan.status is not LoanStatus.ACTIVE
                or loan.pending_reversals
                or loan.dpd_on(day) < WRITE_OFF_DPD
            ):
                continue
            left = loan.position(day).outstanding()
            loan.status, loan.ended_on = LoanStatus.WRITTEN_OFF, day
            self.stats["write-offs"] += 1
            data = LoanWrittenOffV1(
                loan_id=loan.loan_id,
                written_off_on=day,
                principal=left["principal"],
                interest=left["interest"],
                fee=left["fee"],
                penalty=left["penalty"],
                reason=WRITE_OFF_REASON,
            )
            out.append(self._event(CORE_BANKING_LOANS, loan.loan_id, data, day))
        return out

    # --- envelopes -------------------------------------------------------------------------------

    def _event(self, topic: str, key: str, data: BaseModel, day: date) -> Emitted:
        self._seq += 1
        self._day_index += 1
        envelope = make_envelope(
            data=data,
            source=self.config.source,
            subject=key,
            business_date=day,
            correlation_id=f"simulation-{self.config.seed}-{day.isoformat()}",
        )
        # Ids and times come from the seed, not the clock, so reruns are byte-identical.
        stamped = envelope.model_copy(
            update={
                "id": uuid5(_ID_NAMESPACE, f"{self.config.seed}:{self._seq}"),
                "time": datetime(day.year, day.month, day.day, 1, tzinfo=UTC) + timedelta(milliseconds=self._day_index),
            }
        )
        self.stats[envelope.type] += 1
        return Emitted(topic, key, stamped)

    # --- ground truth ----------------------------------------------------------------------------

    def truth(self) -> list[TruthRow]:
        """Per loan: the borrower's true propensity and whether the loan reached 90+ DPD within 12 months."""
        last_played = self.days[self._played - 1] if self._played else self.config.start
        rows: list[TruthRow] = []
        for loan in self.loans:
            if loan.status is LoanStatus.PENDING:
                continue
            borrower = loan.borrower
            observed_from = loan.book_day
            observed_to = min(
                loan.ended_on if loan.status is LoanStatus.WRITTEN_OFF and loan.ended_on else last_played,
                observed_from + timedelta(days=OBSERVATION_DAYS - 1),
            )
            worst = loan.position(max(last_played, observed_from)).max_dpd(observed_from, observed_to)
            rows.append(
                TruthRow(
                    loan_id=loan.loan_id,
                    customer_id=borrower.customer_id,
                    product=loan.product.code,
                    branch=loan.branch,
                    archetype=borrower.archetype.name,
                    propensity=borrower.propensity,
                    will_default=borrower.will_default,
                    onset=borrower.onset,
                    default_90dpd=worst >= DEFAULT_DPD,
                    max_dpd=worst,
                    observed_from=observed_from,
                    observed_to=observed_to,
                    status=loan.status.value,
                )
            )
        return rows


def _share(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(str(round(rng.uniform(low, high), 2)))


def truth_csv(rows: Sequence[TruthRow]) -> str:
    """The ground truth as CSV text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRUTH_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.loan_id,
                row.customer_id,
                row.product,
                row.branch,
                row.archetype,
                f"{row.propensity:.6f}",
                int(row.will_default),
                row.onset.isoformat() if row.onset else "",
                int(row.default_90dpd),
                row.max_dpd,
                row.observed_from.isoformat(),
                row.observed_to.isoformat(),
                row.status,
            ]
        )
    return buffer.getvalue()


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve (ties count half); None when only one class is present."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    ranked = sorted(zip(scores, labels, strict=True), key=lambda pair: pair[0])
    rank_sum = 0.0
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2
        rank_sum += average_rank * sum(1 for _, label in ranked[i:j] if label)
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def best_auc(rows: Sequence[TruthRow]) -> float | None:
    """The AUC of the true propensity against the realised 90+ DPD flag: the ceiling for any model."""
    return auc([r.propensity for r in rows], [r.default_90dpd for r in rows])


__all__ = [
    "ARCHETYPES",
    "Emitted",
    "Simulation",
    "SimulationConfig",
    "TruthRow",
    "auc",
    "best_auc",
    "truth_csv",
]
