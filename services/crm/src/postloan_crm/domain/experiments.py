"""Collection strategies as experiments: a champion, challengers and a hold-out control, each with a share.

Each new case is given an arm by `assign_arm`: SHA-256 of the experiment's salt and the loan id, read as a
number u in [0, 1), falls in the arm whose cumulative share interval holds it. The same loan and salt always
give the same arm; a case keeps the arm it opened with for its whole life (a new version changes only the
arms of cases opened after it). The hold-out control gets no automated dunning (`suppresses_dunning`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from postloan_common.contracts.crm import ArmRole

__all__ = ["Arm", "ArmRole", "Experiment", "arms_problem", "assign_arm", "experiment_for"]

ONE = Decimal(1)
_HASH_BITS = 64


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm: a name, its role, the share of new cases it gets and the strategy's dunning ladder it uses
    instead of the queue's (None: the queue's)."""

    name: str
    role: ArmRole
    share: Decimal
    ladder: str | None = None


@dataclass(frozen=True, slots=True)
class Experiment:
    """The current version of a strategy: which queues' new cases it splits and how."""

    strategy_id: str
    version: int
    salt: str
    arms: tuple[Arm, ...]
    queues: tuple[str, ...]
    active: bool = True


def arms_problem(arms: Sequence[Arm], *, ladders: Collection[str] = ()) -> str | None:
    """Why `arms` are not a valid split (None when they are): names unique, one champion, at most one control,
    every share in (0, 1], the shares summing to exactly 1, and every ladder an arm names one of `ladders`
    (the control has none: it gets no dunning)."""
    names = [arm.name for arm in arms]
    if len(set(names)) != len(names):
        return "arm names must be unique"
    roles = [arm.role for arm in arms]
    if roles.count(ArmRole.CHAMPION) != 1:
        return "exactly one arm must be the champion"
    if roles.count(ArmRole.CONTROL) > 1:
        return "at most one arm may be the hold-out control"
    if any(not (0 < arm.share <= ONE) for arm in arms):
        return "every share must be above 0 and at most 1"
    total = sum((arm.share for arm in arms), Decimal(0))
    if total != ONE:
        return f"the shares must sum to 1 (they sum to {total})"
    for arm in arms:
        if arm.ladder is not None and arm.role == ArmRole.CONTROL:
            return "the hold-out control gets no dunning, so it names no ladder"
        if arm.ladder is not None and arm.ladder not in ladders:
            return f"arm {arm.name} names ladder {arm.ladder}, which the strategy does not define"
    return None


def hash_point(loan_id: str, salt: str) -> Fraction:
    """The loan's point in [0, 1) for `salt`: the first 64 bits of SHA-256("salt:loan_id") over 2^64."""
    digest = hashlib.sha256(f"{salt}:{loan_id}".encode()).digest()
    return Fraction(int.from_bytes(digest[: _HASH_BITS // 8], "big"), 2**_HASH_BITS)


def assign_arm(loan_id: str, *, salt: str, arms: Sequence[Arm]) -> Arm:
    """The arm of a new case of `loan_id`: the one whose cumulative share interval, in the arms' order, holds
    the loan's hash point (exact arithmetic, so shares are met to within the hash's uniformity)."""
    point = hash_point(loan_id, salt)
    upper = Fraction(0)
    for arm in arms:
        upper += Fraction(arm.share)
        if point < upper:
            return arm
    return arms[-1]


def experiment_for(experiments: Sequence[Experiment], *, queue: str) -> Experiment | None:
    """The experiment a new case of `queue` joins: the first active one (by strategy id) covering the queue."""
    covering = [e for e in experiments if e.active and queue in e.queues]
    return min(covering, key=lambda e: e.strategy_id) if covering else None


def suppresses_dunning(role: str | None) -> bool:
    """Whether a case of an arm with `role` gets no automated dunning (the hold-out control)."""
    return role == ArmRole.CONTROL
