"""`postloan simulate`: a seeded core-banking simulator (pure model in `model`, I/O in `driver`)."""

from postloan_dev.simulator.model import (
    ARCHETYPES,
    Emitted,
    Simulation,
    SimulationConfig,
    TruthRow,
    auc,
    best_auc,
    truth_csv,
)

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
