"""Strategy experiments: arm assignment by hash of loan id and salt, the split's rules, the hold-out (docs/domain.md)."""

from __future__ import annotations

import hashlib
from collections import Counter
from decimal import Decimal as D
from fractions import Fraction

import pytest

from postloan_crm.domain.dunning import DunningStep, Ladder, default_ladders, ladder_for, ladder_for_case, stop_reason
from postloan_crm.domain.experiments import (
    Arm,
    ArmRole,
    Experiment,
    arms_problem,
    assign_arm,
    experiment_for,
    hash_point,
    suppresses_dunning,
)

ARMS = (
    Arm("champion", ArmRole.CHAMPION, D("0.7")),
    Arm("early-call", ArmRole.CHALLENGER, D("0.2")),
    Arm("holdout", ArmRole.CONTROL, D("0.1")),
)


def test_the_same_loan_and_salt_always_get_the_same_arm():
    first = [assign_arm(f"L-{i}", salt="s1", arms=ARMS).name for i in range(500)]
    again = [assign_arm(f"L-{i}", salt="s1", arms=ARMS).name for i in range(500)]
    assert first == again


def test_the_hash_point_is_the_first_64_bits_of_sha256_of_salt_and_loan():
    expected = int.from_bytes(hashlib.sha256(b"s1:L-1").digest()[:8], "big")
    assert hash_point("L-1", "s1") == Fraction(expected, 2**64)
    assert 0 <= hash_point("L-1", "s1") < 1


def test_another_salt_reshuffles_the_loans():
    one = [assign_arm(f"L-{i}", salt="s1", arms=ARMS).name for i in range(2000)]
    two = [assign_arm(f"L-{i}", salt="s2", arms=ARMS).name for i in range(2000)]
    assert sum(a != b for a, b in zip(one, two, strict=True)) > 500


def test_shares_are_met_within_sampling_error():
    n = 20_000
    counts = Counter(assign_arm(f"LOAN-{i:06d}", salt="2026-q4", arms=ARMS).name for i in range(n))
    for arm in ARMS:
        p = float(arm.share)
        # Four standard errors of a binomial proportion: fails by chance about once in 16,000 runs at most.
        assert abs(counts[arm.name] / n - p) < 4 * (p * (1 - p) / n) ** 0.5, (arm.name, counts)


def test_the_arm_is_picked_by_cumulative_share_in_the_arms_order():
    point = hash_point("L-7", "x")
    arms = (Arm("a", ArmRole.CHAMPION, D("0.5")), Arm("b", ArmRole.CHALLENGER, D("0.5")))
    assert assign_arm("L-7", salt="x", arms=arms).name == ("a" if point < Fraction(1, 2) else "b")
    everything = (Arm("only", ArmRole.CHAMPION, D("1")),)
    assert all(assign_arm(f"L-{i}", salt="x", arms=everything).name == "only" for i in range(100))


@pytest.mark.parametrize(
    ("arms", "problem"),
    [
        (ARMS, None),
        ((Arm("a", ArmRole.CHAMPION, D("0.5")), Arm("b", ArmRole.CHALLENGER, D("0.4"))), "sum to 1"),
        ((Arm("a", ArmRole.CHAMPION, D("0.6")), Arm("b", ArmRole.CHALLENGER, D("0.6"))), "sum to 1"),
        ((Arm("a", ArmRole.CHALLENGER, D("1")),), "exactly one arm must be the champion"),
        ((Arm("a", ArmRole.CHAMPION, D("0.5")), Arm("b", ArmRole.CHAMPION, D("0.5"))), "exactly one"),
        ((Arm("a", ArmRole.CHAMPION, D("0.5")), Arm("a", ArmRole.CHALLENGER, D("0.5"))), "unique"),
        (
            (
                Arm("a", ArmRole.CHAMPION, D("0.5")),
                Arm("b", ArmRole.CONTROL, D("0.25")),
                Arm("c", ArmRole.CONTROL, D("0.25")),
            ),
            "at most one",
        ),
        ((Arm("a", ArmRole.CHAMPION, D("1")), Arm("b", ArmRole.CHALLENGER, D("0"))), "above 0"),
    ],
)
def test_a_split_needs_one_champion_unique_names_and_shares_summing_to_one(arms, problem):
    found = arms_problem(arms)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_a_new_case_joins_the_first_active_experiment_covering_its_queue():
    a = Experiment("b-phone", 1, "s", ARMS, ("phone",))
    b = Experiment("a-all", 2, "s", ARMS, ("automated", "phone"), active=False)
    c = Experiment("c-auto", 1, "s", ARMS, ("automated", "phone"))
    assert experiment_for([a, b, c], queue="phone") is a
    assert experiment_for([a, b, c], queue="automated") is c
    assert experiment_for([a, b, c], queue="watch") is None


def test_only_the_hold_out_control_suppresses_dunning():
    assert suppresses_dunning("control")
    assert not suppresses_dunning("champion")
    assert not suppresses_dunning("challenger")
    assert not suppresses_dunning(None)
    assert stop_reason(loan_status="active", dpd=5, promise_active=False, holdout=True) == "holdout"
    assert stop_reason(loan_status="active", dpd=5, promise_active=False, holdout=False) is None


def test_an_arm_names_only_a_ladder_of_its_strategy_and_the_control_none():
    mail = Arm("mail", ArmRole.CHALLENGER, D("0.5"), ladder="email-first")
    champ = Arm("champ", ArmRole.CHAMPION, D("0.5"))
    assert arms_problem((champ, mail), ladders={"email-first"}) is None
    assert "does not define" in (arms_problem((champ, mail), ladders=()) or "")
    control = Arm("hold", ArmRole.CONTROL, D("0.5"), ladder="email-first")
    assert "no ladder" in (arms_problem((champ, control), ladders={"email-first"}) or "")


def test_an_arms_ladder_replaces_the_queues_in_every_queue_and_bucket():
    ladders = default_ladders()
    own = Ladder("*", "*", (DunningStep(1, "email", "dunning-reminder"),))
    assert ladder_for_case(ladders, queue="phone", bucket="M2", arm_ladder=own) is own
    assert ladder_for_case(ladders, queue="automated", bucket="M1", arm_ladder=None) == ladder_for(
        ladders, queue="automated", bucket="M1"
    )
