"""Borrowers answer dunning by arm (simulator/experiment.py) and the true uplift beside the measured one
(simulator/uplift.py): the arm is crm's, the option off changes nothing, and the measured uplift's interval
holds the true one in most seeds at a small scale."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import cache

import pytest

from postloan_crm.domain.experiments import Arm, ArmRole
from postloan_crm.domain.experiments import assign_arm as crm_assign_arm
from postloan_dev.simulator import Simulation, SimulationConfig
from postloan_dev.simulator.experiment import DunningExperiment, SimArm, assign_arm
from postloan_dev.simulator.uplift import (
    AS_PLAYED,
    NO_DUNNING,
    CaseTruth,
    cases_csv,
    delinquency_spells,
    describe_uplift,
    difference,
    mature,
    measured_from_truth,
    measured_uplift,
    read_cases_csv,
    report_query,
    true_uplift,
)
from postloan_dev.simulator.worlds import case_truth

START = date(2026, 1, 1)
D = date.fromisoformat


def test_the_simulators_arm_is_crms_on_many_loan_ids() -> None:
    shares = (Decimal("0.6"), Decimal("0.15"), Decimal("0.25"))
    roles = (ArmRole.CHAMPION, ArmRole.CHALLENGER, ArmRole.CONTROL)
    names = ("a", "b", "c")
    ours = tuple(SimArm(n, r.value, s) for n, r, s in zip(names, roles, shares, strict=True))
    theirs = tuple(Arm(n, r, s) for n, r, s in zip(names, roles, shares, strict=True))
    ids = [f"L-{seed}-{n:06d}" for seed in (1, 7) for n in range(1, 2501)]

    picked = [assign_arm(i, salt="s-1", arms=ours).name for i in ids]

    assert picked == [crm_assign_arm(i, salt="s-1", arms=theirs).name for i in ids]
    assert {name: picked.count(name) / len(ids) for name in names} == pytest.approx(
        {"a": 0.6, "b": 0.15, "c": 0.25}, abs=0.03
    )


def test_a_strategy_body_is_a_valid_champion_and_holdout_split() -> None:
    body = DunningExperiment().strategy_body()

    assert [(a["role"], a["share"]) for a in body["arms"]] == [("champion", "0.5"), ("control", "0.5")]
    assert body["salt"] and body["active"] is True


def test_a_case_opens_after_a_missed_due_date_ends_when_dpd_is_0_and_takes_in_what_is_missed_meanwhile() -> None:
    dues = [
        (D("2026-01-10"), D("2026-01-10")),  # paid on the due date: never missed
        (D("2026-02-10"), D("2026-02-11")),  # missed at the close of 10 February, cured the next day
        (D("2026-03-10"), D("2026-04-12")),  # missed on 10 March …
        (D("2026-04-10"), D("2026-04-20")),  # … and this one while that case is open: current on 20 April
        (D("2026-05-20"), D("2026-06-10")),  # paid on the next one's due date (DPD 0) …
        (D("2026-06-10"), None),  # … which is missed: a new case
    ]

    assert delinquency_spells(dues) == [
        (D("2026-02-11"), D("2026-02-11")),
        (D("2026-03-11"), D("2026-04-20")),
        (D("2026-05-21"), D("2026-06-10")),
        (D("2026-06-11"), None),
    ]


def test_the_newcombe_interval_of_a_difference_matches_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339.
    found = difference(56, 70, 48, 80)

    assert found is not None
    assert found.estimate == pytest.approx(0.2)
    assert (found.ci_low, found.ci_high) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    assert difference(1, 0, 1, 2) is None


def _arm(role: str, k: int, n: int) -> dict[str, object]:
    return {"arm": role, "role": role, "rates": {"cure_rate_30d": {"successes": k, "trials": n}}}


def test_the_measured_uplift_is_the_champions_cure_rate_minus_the_controls_from_the_report() -> None:
    report = {"arms": [_arm("control", 48, 80), _arm("champion", 56, 70)]}

    found = measured_uplift(report)

    assert found == difference(56, 70, 48, 80)
    assert measured_uplift({"arms": [_arm("champion", 5, 10)]}) is None
    assert report_query(start=D("2026-01-01"), end=D("2026-03-31")) == {
        "experiment": "sim-dunning",
        "from": "2026-01-01",
        "to": "2026-03-31",
    }
    assert describe_uplift(0.2, found)[0].endswith("the true uplift is inside the interval")
    assert "OUTSIDE" in describe_uplift(0.4, found)[0]
    assert describe_uplift(0.2, found)[1] == "  cured within 30 days: champion 56 of 70 mature cases, hold-out 48 of 80"


def _row(world: str, role: str, opened: str, cured: bool, caused: bool = False) -> CaseTruth:
    return CaseTruth(world, "L-1", role, role, D(opened), D(opened) if cured else None, cured, caused)


def test_the_true_uplift_is_the_dunned_rate_as_played_minus_the_same_loans_undunned() -> None:
    rows = [
        _row(AS_PLAYED, "champion", "2026-01-02", True, caused=True),
        _row(AS_PLAYED, "champion", "2026-01-03", True),
        _row(AS_PLAYED, "champion", "2026-01-04", False),
        _row(AS_PLAYED, "champion", "2026-01-05", True),
        _row(NO_DUNNING, "champion", "2026-01-02", False),
        _row(NO_DUNNING, "champion", "2026-01-03", True),
        _row(NO_DUNNING, "champion", "2026-01-04", False),
        _row(NO_DUNNING, "champion", "2026-01-05", True),
        _row(AS_PLAYED, "control", "2026-01-02", True),
        _row(AS_PLAYED, "control", "2026-12-20", False),  # not mature by the end of the year
    ]
    judged = mature(rows, start=D("2026-01-01"), end=D("2026-12-31"), as_of=D("2026-12-31"))

    assert true_uplift(judged) == pytest.approx(0.75 - 0.5)
    assert measured_from_truth(judged) == difference(3, 4, 1, 1)
    assert read_cases_csv(cases_csv(rows)) == rows


@cache
def _worlds(seed: int, uplift: float, loans: int = 900, months: int = 5) -> tuple[Simulation, list[CaseTruth]]:
    config = SimulationConfig(
        seed=seed, loans=loans, months=months, start=START, experiment=DunningExperiment(uplift=uplift)
    )
    sim = Simulation(config)
    for _ in sim.run():
        pass
    last = sim.days[-1]
    return sim, mature(case_truth(sim), start=START, end=last, as_of=last)


def _stream(config: SimulationConfig) -> list[bytes]:
    return [e.envelope.to_bytes() for _, emitted in Simulation(config).run() for e in emitted]


def test_with_no_one_answering_the_run_is_the_run_without_an_experiment_and_answering_changes_it() -> None:
    plain = SimulationConfig(seed=3, loans=150, months=4, start=START)
    silent = replace(plain, experiment=DunningExperiment(uplift=0.0))
    answering = replace(plain, experiment=DunningExperiment(uplift=1.0))

    assert _stream(silent) == _stream(plain)
    assert _stream(answering) != _stream(plain)
    assert case_truth(Simulation(plain)) == []


def test_only_dunned_arms_cures_are_caused_by_dunning_and_the_truth_has_both_worlds() -> None:
    _, rows = _worlds(1, 1.0)
    played = [r for r in rows if r.world == AS_PLAYED]

    assert any(r.caused_by_dunning for r in played)
    assert not any(r.caused_by_dunning for r in played if r.role == "control")
    assert all(r.cured_30d for r in played if r.caused_by_dunning)
    assert {r.role for r in rows if r.world == NO_DUNNING} == {"champion"}
    assert {r.role for r in played} == {"champion", "control"}


def test_the_measured_uplift_interval_holds_the_true_uplift_in_most_seeds() -> None:
    results = []
    for seed in range(1, 6):
        _, rows = _worlds(seed, 1.0)
        truth, measured = true_uplift(rows), measured_from_truth(rows)
        assert truth is not None and measured is not None
        results.append((truth, measured))

    assert all(truth > 0 for truth, _ in results)  # the effect exists …
    assert sum(measured.holds(truth) for truth, measured in results) >= 4  # … and the interval covers it
    assert sum(measured.ci_low > 0 for _, measured in results) >= 3  # … and is large enough to be seen
