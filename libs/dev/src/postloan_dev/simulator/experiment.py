"""The simulator's side of a strategy experiment (issue 16 item 7): which arm a loan's cases are in, and
whether a dunned borrower answers the dunning by paying early.

The arm is computed exactly as crm computes it (`postloan_crm.domain.experiments.assign_arm`, re-implemented
here because development tools import no service; libs/dev/tests/test_experiment.py checks both agree on
many ids): u = the first 64 bits of SHA-256("salt:loan id") ÷ 2⁶⁴ falls in the arm whose cumulative share
interval, in the arms' order, holds it. A loan's cases all share its arm (the hash reads only the loan id).

A borrower whose cases are dunned (any arm but the hold-out control) and who was about to pay an installment
late answers the dunning with probability `uplift`: they pay it `respond_days` after the due date instead (if
that is earlier). The draw comes from an RNG of its own per loan and installment, drawn for every arm, so the
loan's other draws, and the whole run with the experiment off, stay as they were.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

_HASH_BITS = 64
CONTROL = "control"


@dataclass(frozen=True)
class SimArm:
    name: str
    role: str  # champion | challenger | control
    share: Decimal


@dataclass(frozen=True)
class DunningExperiment:
    """A champion / hold-out split registered in crm at the start, and how borrowers answer dunning."""

    strategy_id: str = "sim-dunning"
    salt: str = "postloan-simulator"
    arms: tuple[SimArm, ...] = (
        SimArm("champion", "champion", Decimal("0.5")),
        SimArm("holdout", CONTROL, Decimal("0.5")),
    )
    # The chance that a dunned borrower about to pay an installment late pays it after the first messages.
    uplift: float = 0.3
    # Days after the due date a borrower who answers pays (uniformly; the default ladder's SMS 1, e-mail 3, SMS 7).
    respond_days: tuple[int, int] = (2, 10)

    def __post_init__(self) -> None:
        if not 0.0 <= self.uplift <= 1.0:
            raise ValueError("uplift must be in [0, 1]")
        if sum((a.share for a in self.arms), Decimal(0)) != 1:
            raise ValueError("the arms' shares must sum to 1")

    def arm_of(self, loan_id: str) -> SimArm:
        """The arm crm gives the loan's cases."""
        return assign_arm(loan_id, salt=self.salt, arms=self.arms)

    def dunned(self, loan_id: str) -> bool:
        """Whether the loan's cases get automated dunning (every arm but the hold-out control)."""
        return self.arm_of(loan_id).role != CONTROL

    def strategy_body(self) -> dict[str, Any]:
        """The body of crm's `PUT /v1/strategies/{strategy_id}` for this split (every queue but watch)."""
        arms = [{"name": a.name, "role": a.role, "share": str(a.share)} for a in self.arms]
        return {"salt": self.salt, "arms": arms, "active": True}


def hash_point(loan_id: str, salt: str) -> Fraction:
    """The loan's point in [0, 1) for `salt`: the first 64 bits of SHA-256("salt:loan_id") over 2^64."""
    digest = hashlib.sha256(f"{salt}:{loan_id}".encode()).digest()
    return Fraction(int.from_bytes(digest[: _HASH_BITS // 8], "big"), 2**_HASH_BITS)


def assign_arm(loan_id: str, *, salt: str, arms: tuple[SimArm, ...]) -> SimArm:
    """The arm whose cumulative share interval, in the arms' order, holds the loan's hash point."""
    point = hash_point(loan_id, salt)
    upper = Fraction(0)
    for arm in arms:
        upper += Fraction(arm.share)
        if point < upper:
            return arm
    return arms[-1]


def answered_on(experiment: DunningExperiment, *, seed: int, loan_id: str, seq: int, due: date) -> date | None:
    """The day a dunned borrower who answers pays installment `seq` (None: this borrower does not answer it)."""
    rng = random.Random(f"postloan-simulator:{seed}:{loan_id}:{seq}:dunning")
    answers = rng.random() < experiment.uplift
    offset = rng.randint(*experiment.respond_days)
    return due + timedelta(days=offset) if answers else None
