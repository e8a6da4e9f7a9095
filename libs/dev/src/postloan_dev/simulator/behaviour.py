"""How a simulated borrower meets an installment: on time, late, in parts, bounced, missed, or not at all."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from postloan_dev.simulator.book import (
    _SLOW_CHANNELS,
    DETERIORATION_DAYS,
    PLAN_AHEAD_DAYS,
    LoanStatus,
    Pay,
    PayKind,
    PlanInstallment,
    Reverse,
    SimLoan,
)
from postloan_dev.simulator.experiment import DunningExperiment, answered_on


def plan_installment(
    loan: SimLoan,
    seq: int,
    today: date,
    *,
    plans: dict[date, list[PlanInstallment]],
    actions: dict[date, list[Pay | Reverse]],
    experiment: DunningExperiment | None = None,
    seed: int = 0,
) -> None:
    """Decide how the borrower meets installment `seq` (called a few days before it falls due)."""
    if seq < len(loan.schedule):
        nxt = loan.schedule[seq]
        plans[max(today + timedelta(days=1), nxt.due_date - timedelta(days=PLAN_AHEAD_DAYS))].append(
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
        actions[post_on].append(Pay(loan, kind, due, day, channel, share, bounces))

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
        natural = due + timedelta(days=rng.randint(20, 75))
        pay(PayKind.DUE, _answered(loan, seq, due, natural, experiment=experiment, seed=seed))
    elif r < miss + partial:
        pay(PayKind.SHARE, due - timedelta(days=rng.randint(0, 2)), share=_share(rng, 0.3, 0.8))
        pay(PayKind.DUE, due + timedelta(days=rng.randint(2, 20)))
    elif r < miss + partial + late:
        natural = due + timedelta(days=rng.randint(1, archetype.late_days))
        pay(PayKind.DUE, _answered(loan, seq, due, natural, experiment=experiment, seed=seed))
    else:
        bounces = borrower.channel == "direct-debit" and rng.random() < archetype.bounce
        pay(PayKind.DUE, due - timedelta(days=rng.randint(0, 3)), bounces=bounces)


def _answered(
    loan: SimLoan, seq: int, due: date, natural: date, *, experiment: DunningExperiment | None, seed: int
) -> date:
    """The day the borrower pays a late installment: `natural`, or earlier when dunned and answering it."""
    if experiment is None or not experiment.dunned(loan.loan_id):
        return natural
    answered = answered_on(experiment, seed=seed, loan_id=loan.loan_id, seq=seq, due=due)
    if answered is None or answered >= natural:
        return natural
    loan.dunning_answers.append((seq, natural, answered))
    return answered


def _share(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(str(round(rng.uniform(low, high), 2)))
