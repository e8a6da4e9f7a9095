"""The scorecard (monotone, explained, JSON round trip) and training on a synthetic book with a known driver."""

from __future__ import annotations

import json

import numpy as np
import pytest

from postloan_risk_alert import synthetic
from postloan_risk_alert.domain import training
from postloan_risk_alert.domain.scoring import FEATURES, Scorecard, columns_matrix, points_of, score_matrix, score_rows
from postloan_risk_alert.service.models import default_model

GOOD = {
    "dpd": 0,
    "max_dpd_3m": 0,
    "max_dpd_6m": 0,
    "max_dpd_12m": 0,
    "episodes_30": 0,
    "episodes_60": 0,
    "episodes_90": 0,
    "months_since_delinquency": None,
    "paid_due_ratio": 1.0,
    "partial_share": 0.0,
    "missed_count": 0,
    "consecutive_misses": 0,
    "broken_promises": 0,
    "negative_contact_share": None,
    "restructured": 0,
}


def _worsening() -> list[dict]:
    """Behaviour that gets worse step by step, every feature moving only in its risky direction."""
    steps = [dict(GOOD)]
    for change in (
        {"months_since_delinquency": 11, "max_dpd_12m": 5},
        {"max_dpd_6m": 10, "max_dpd_12m": 15, "months_since_delinquency": 5, "missed_count": 1},
        {"paid_due_ratio": 0.9, "partial_share": 0.2, "broken_promises": 1},
        {"dpd": 20, "max_dpd_3m": 20, "max_dpd_6m": 20, "max_dpd_12m": 20, "months_since_delinquency": 0},
        {"dpd": 45, "max_dpd_3m": 45, "max_dpd_6m": 45, "max_dpd_12m": 45, "episodes_30": 1, "consecutive_misses": 2},
        {"dpd": 75, "max_dpd_3m": 75, "max_dpd_6m": 75, "max_dpd_12m": 75, "episodes_60": 1, "broken_promises": 3},
        {"dpd": 120, "max_dpd_3m": 120, "max_dpd_6m": 120, "max_dpd_12m": 120, "episodes_90": 1, "missed_count": 4},
    ):
        steps.append({**steps[-1], **change})
    return steps


def test_the_default_model_loads_and_round_trips_as_json() -> None:
    model = default_model()
    assert model.version == "default-v1"
    again = Scorecard.from_json(json.loads(model.dumps()))
    assert again == model
    assert all(b.coefficient >= 0 for b in model.bins)
    assert model.training["holdout"]["auc"] > 0.8


def test_scores_worsen_monotonically_as_behaviour_worsens() -> None:
    results = score_rows(default_model(), _worsening())
    pds = [r["pd"] for r in results]
    scores = [r["score"] for r in results]
    assert pds == sorted(pds)
    assert scores == sorted(scores, reverse=True)
    assert scores[0] - scores[-1] > 150
    assert results[0]["grade"] in ("A", "B") and results[-1]["grade"] == "E"
    assert results[0]["reason_codes"] == []
    assert "dpd" in results[-1]["reason_codes"][0] or results[-1]["reason_codes"][0].startswith("max_dpd")
    assert len(results[-1]["reason_codes"]) == 3


def test_every_feature_alone_never_lowers_pd_as_it_worsens() -> None:
    model = default_model()
    direction = {f.name: f.direction for f in FEATURES}
    for b in model.bins:
        values = np.linspace(0, 400 if "dpd" in b.feature else 5, 60) * direction[b.feature]
        columns = {name: np.full(len(values), 0.0) for name in model.features}
        columns[b.feature] = values
        pd = score_matrix(model, columns_matrix(model, columns, len(values))).pd
        assert np.all(np.diff(pd) >= -1e-12), b.feature


def test_points_scale() -> None:
    model = default_model()
    pd = np.asarray([1 / 21, 1 / 41, 0.5])
    assert points_of(model, pd).tolist() == [600, 650, round(600 - 50 / np.log(2) * np.log(20))]


@pytest.fixture(scope="module")
def book() -> tuple[training.Dataset, training.Dataset]:
    return synthetic.generate(60_000, seed=11).split(seed=3)


def test_training_on_a_known_driver_beats_a_model_without_it(book) -> None:
    train, holdout = book
    full = training.fit(train, version="full")
    blind_features = [n for n in train.columns if "dpd" not in n and not n.startswith("episodes")]
    blind = training.fit(train, version="blind", features=blind_features)
    full_auc = training.evaluate(full, holdout)["auc"]
    blind_auc = training.evaluate(blind, holdout)["auc"]
    assert full_auc > 0.8
    assert full_auc > blind_auc + 0.03
    assert training.should_promote(challenger_auc=full_auc, champion_auc=blind_auc)
    assert not training.should_promote(challenger_auc=blind_auc, champion_auc=full_auc)


def test_evaluation_metrics(book) -> None:
    train, holdout = book
    model = training.fit(train, version="m")
    metrics = training.evaluate(model, holdout)
    assert 0.3 < metrics["ks"] < 1
    assert metrics["gini"] == pytest.approx(2 * metrics["auc"] - 1)
    calibration = metrics["calibration"]
    assert len(calibration) == 10
    assert calibration[-1]["observed"] > calibration[0]["observed"] * 5
    assert abs(sum(c["expected"] * c["n"] for c in calibration) / len(holdout) - metrics["default_rate"]) < 0.02
    scores = score_matrix(model, columns_matrix(model, holdout.columns, len(holdout))).score.astype(float)
    reference = metrics["score_distribution"]
    assert training.psi(reference, scores) < 0.01
    assert training.psi(reference, scores - 80) > 0.25


def test_auc_and_ks_on_known_cases() -> None:
    y = np.asarray([0, 0, 1, 1])
    assert training.auc(np.asarray([0.1, 0.2, 0.8, 0.9]), y) == 1.0
    assert training.auc(np.asarray([0.9, 0.8, 0.2, 0.1]), y) == 0.0
    assert training.auc(np.asarray([0.5, 0.5, 0.5, 0.5]), y) == 0.5
    assert training.ks(np.asarray([0.1, 0.2, 0.8, 0.9]), y) == 1.0
