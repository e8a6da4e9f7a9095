"""The case truth of a played simulation with an experiment: the seed replayed with no one answering dunning."""

from __future__ import annotations

from dataclasses import replace

from postloan_dev.simulator.model import Simulation
from postloan_dev.simulator.uplift import CaseTruth, case_truths


def case_truth(sim: Simulation) -> list[CaseTruth]:
    """Per case of both worlds (as played; the same seed with no one answering dunning, replayed here up to
    the same day), its arm, 30-day cure and whether dunning caused it; empty without an experiment."""
    experiment = sim.config.experiment
    if experiment is None:
        return []
    twin = Simulation(replace(sim.config, experiment=replace(experiment, uplift=0.0)))
    for day in sim.played_days:
        twin.play(day)
    return case_truths(sim.loans, twin.loans, experiment, last_played=sim.last_played())
