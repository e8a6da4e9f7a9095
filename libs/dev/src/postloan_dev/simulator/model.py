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

import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import uuid5

from pydantic import BaseModel

from postloan_common.catalog import CORE_BANKING_CUSTOMERS, CORE_BANKING_LOANS, CORE_BANKING_TRANSACTIONS
from postloan_common.contracts.core_banking import (
    LoanBookedV1,
    LoanWrittenOffV1,
    RepaymentPostedV1,
    RepaymentReversedV1,
)
from postloan_common.contracts.registry import make_envelope
from postloan_dev.simulator.behaviour import plan_installment
from postloan_dev.simulator.book import (
    _ID_NAMESPACE,
    ARCHETYPES,
    BOUNCE_REASON,
    CURRENCY,
    DEFAULT_DPD,
    OBSERVATION_DAYS,
    PLAN_AHEAD_DAYS,
    WRITE_OFF_DPD,
    WRITE_OFF_REASON,
    Borrower,
    Emitted,
    LoanStatus,
    Pay,
    PayKind,
    PlanInstallment,
    Reverse,
    SimLoan,
    SimulationConfig,
)
from postloan_dev.simulator.flows import PlannedFlow, choose_purpose, fund_moved, plan_flows, reported_on
from postloan_dev.simulator.ledger import (
    Payment,
    Position,
    add_months,
    apply_on,
    cents,
    monthly_schedule,
)
from postloan_dev.simulator.portfolio import (
    choose_branch,
    choose_principal,
    choose_product,
    new_customer,
    pick_weighted,
    with_new_phone,
)
from postloan_dev.simulator.truth import TruthRow, auc, best_auc, truth_csv, truth_rows


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
        self._flows: dict[date, list[tuple[SimLoan, PlannedFlow]]] = defaultdict(list)
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
            self._plan_funds(loan)
            self.loans.append(loan)
            self._bookings[book_day].append(loan)
            self._plans[max(book_day, schedule[0].due_date - timedelta(days=PLAN_AHEAD_DAYS))].append(
                PlanInstallment(loan, 1)
            )
            if borrower.will_default:
                self._defaulting.append(loan)

    def _plan_funds(self, loan: SimLoan) -> None:
        """Draw the loan's purpose and where its proceeds go, from an RNG of its own (other draws stay as they were)."""
        rng = random.Random(f"postloan-simulator:{self.config.seed}:{loan.loan_id}:funds")
        loan.purpose = choose_purpose(rng, loan.product.code)
        plan = plan_flows(
            rng,
            loan_id=loan.loan_id,
            principal=loan.principal,
            disbursed_on=loan.disbursed_on,
            purpose=loan.purpose,
            will_default=loan.borrower.will_default,
            borrower_account="6217" + loan.borrower.customer_id.removeprefix("C-").replace("-", ""),
        )
        for flow in plan.flows:
            self._flows[reported_on(flow, book_day=loan.book_day)].append((loan, flow))
        loan.misuse, loan.misuse_on = plan.misuse, plan.misuse_reported_on(book_day=loan.book_day)

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
        for loan, flow in self._flows.pop(day, ()):
            out.append(self._fund_moved(loan, flow, day))
        for plan in self._plans.pop(day, ()):
            plan_installment(
                plan.loan,
                plan.seq,
                day,
                plans=self._plans,
                actions=self._actions,
                experiment=self.config.experiment,
                seed=self.config.seed,
            )
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
            "purpose": loan.purpose,
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

    def _fund_moved(self, loan: SimLoan, flow: PlannedFlow, day: date) -> Emitted:
        data = fund_moved(flow, loan_id=loan.loan_id, currency=CURRENCY)
        return self._event(CORE_BANKING_TRANSACTIONS, loan.loan_id, data, day)

    def _customer_event(self, borrower: Borrower, day: date) -> Emitted:
        return self._event(CORE_BANKING_CUSTOMERS, borrower.customer_id, borrower.record, day)

    # --- behaviour -------------------------------------------------------------------------------

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
        return truth_rows(self.loans, last_played=self.last_played())

    def last_played(self) -> date:
        """The last day played (the start before any)."""
        return self.days[self._played - 1] if self._played else self.config.start

    @property
    def played_days(self) -> list[date]:
        return self.days[: self._played]


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
