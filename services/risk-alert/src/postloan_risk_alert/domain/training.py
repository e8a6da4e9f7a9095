"""Fitting and evaluating scorecards: monotone WoE binning, logistic regression by IRLS, AUC/KS/PSI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from postloan_risk_alert.domain.scoring import FEATURE_BY_NAME, Bins, Scorecard, columns_matrix, log_odds, score_matrix

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

Columns = Mapping[str, FloatArray]


@dataclass(frozen=True)
class Dataset:
    """Feature columns (NaN = missing) and the outcome (1 = reached 90+ DPD within 12 months)."""

    columns: dict[str, FloatArray]
    outcome: IntArray

    def __len__(self) -> int:
        return len(self.outcome)

    def take(self, index: IntArray) -> Dataset:
        """The rows at `index`."""
        return Dataset({k: v[index] for k, v in self.columns.items()}, self.outcome[index])

    def split(self, *, holdout: float = 0.3, seed: int = 7) -> tuple[Dataset, Dataset]:
        """A seeded random split into training and hold-out rows."""
        order = np.random.default_rng(seed).permutation(len(self))
        cut = int(len(self) * (1 - holdout))
        return self.take(order[:cut]), self.take(order[cut:])


def _pool_adjacent_violators(rates: FloatArray, weights: FloatArray, increasing: bool) -> FloatArray:
    """The weighted isotonic fit of `rates` (non-decreasing if `increasing`, else non-increasing)."""
    values = list(rates if increasing else -rates)
    blocks: list[list[float]] = []  # [mean, weight, length]
    for value, weight in zip(values, weights, strict=True):
        blocks.append([float(value), float(weight), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean2, w2, n2 = blocks.pop()
            mean1, w1, n1 = blocks.pop()
            total = w1 + w2
            blocks.append([(mean1 * w1 + mean2 * w2) / total if total else mean1, total, n1 + n2])
    fitted = np.concatenate([np.full(int(n), mean) for mean, _, n in blocks])
    return fitted if increasing else -fitted


def _logit(p: FloatArray) -> FloatArray:
    return np.log(p / (1 - p))


def bin_feature(values: FloatArray, outcome: IntArray, *, name: str, max_bins: int = 6) -> Bins:
    """Quantile bins with a WoE per bin made monotone in the feature's risk direction."""
    present = values[~np.isnan(values)]
    edges = np.zeros(0)
    if len(present):
        quantiles = np.linspace(0, 1, max_bins + 1)[1:-1]
        edges = np.quantile(present, quantiles)
        # Counts and DPD pile up at their minimum; the tail above it gets bins of its own.
        above = present[present > present.min()]
        if len(above) and len(np.unique(edges)) < max_bins - 1:
            edges = np.concatenate([edges, np.quantile(above, [0.25, 0.5, 0.75])])
        edges = np.unique(np.round(edges, 6))
        edges = edges[edges < present.max()]
    draft = Bins(name, tuple(float(e) for e in edges), tuple([0.0] * (len(edges) + 2)), 0.0)
    index = draft.bin_of(values)
    slots = len(edges) + 2
    bads = np.bincount(index, weights=outcome.astype(np.float64), minlength=slots)
    totals = np.bincount(index, minlength=slots).astype(np.float64)
    overall = (outcome.sum() + 0.5) / (len(outcome) + 1.0)
    # Smoothing towards the overall rate keeps thin bins from extreme WoE.
    prior = 5.0
    rates = (bads + prior * overall) / (totals + prior)
    direction = FEATURE_BY_NAME[name].direction if name in FEATURE_BY_NAME else 1
    value_rates = _pool_adjacent_violators(rates[:-1], totals[:-1], increasing=direction > 0)
    all_rates = np.append(value_rates, rates[-1])
    woe = _logit(np.clip(all_rates, 1e-6, 1 - 1e-6)) - _logit(np.asarray(overall))
    return Bins(name, draft.edges, tuple(float(w) for w in woe), 1.0)


def _irls(x: FloatArray, y: FloatArray, *, ridge: float = 1e-3, iterations: int = 50) -> FloatArray:
    """Logistic regression with an intercept column first; coefficients after it kept ≥ 0."""
    beta = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(x @ beta)))
        w = np.clip(p * (1 - p), 1e-9, None)
        gradient = x.T @ (y - p) - ridge * np.r_[0.0, beta[1:]]
        hessian = (x * w[:, None]).T @ x + ridge * np.diag(np.r_[0.0, np.ones(x.shape[1] - 1)])
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        # Projected Newton: a negative weight on a monotone WoE would break monotonicity.
        beta[1:] = np.maximum(beta[1:], 0.0)
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


def fit(
    data: Dataset,
    *,
    version: str,
    features: Sequence[str] | None = None,
    max_bins: int = 6,
    description: str = "",
) -> Scorecard:
    """Fit a scorecard on `data` (all its columns unless `features` names some)."""
    names = [n for n in (features or list(data.columns)) if n in data.columns]
    if not names:
        raise ValueError("no features to fit on")
    if data.outcome.min() == data.outcome.max():
        raise ValueError("the outcome needs both defaults and non-defaults")
    drafts = [bin_feature(data.columns[n], data.outcome, name=n, max_bins=max_bins) for n in names]
    x = np.column_stack([np.ones(len(data))] + [np.asarray(b.woe)[b.bin_of(data.columns[b.feature])] for b in drafts])
    beta = _irls(x, data.outcome.astype(np.float64))
    bins = tuple(Bins(b.feature, b.edges, b.woe, float(beta[j + 1])) for j, b in enumerate(drafts))
    return Scorecard(
        version=version,
        intercept=float(beta[0]),
        bins=bins,
        description=description,
        training={"rows": len(data), "default_rate": float(data.outcome.mean())},
    )


def auc(scores: FloatArray, outcome: IntArray) -> float:
    """Area under the ROC curve of `scores` (higher = riskier), ties counted half."""
    positives = int(outcome.sum())
    negatives = len(outcome) - positives
    if positives == 0 or negatives == 0:
        return 0.5
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = scores[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[outcome == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def ks(scores: FloatArray, outcome: IntArray) -> float:
    """Kolmogorov–Smirnov: the largest gap between the score distributions of bads and goods."""
    order = np.argsort(-scores, kind="mergesort")
    bad = outcome[order].astype(np.float64)
    positives, negatives = bad.sum(), len(bad) - bad.sum()
    if positives == 0 or negatives == 0:
        return 0.0
    return float(np.max(np.abs(np.cumsum(bad) / positives - np.cumsum(1 - bad) / negatives)))


def calibration(pd: FloatArray, outcome: IntArray, *, groups: int = 10) -> list[dict[str, float]]:
    """Expected (mean PD) against observed default rate per PD decile."""
    order = np.argsort(pd, kind="mergesort")
    return [
        {"decile": i + 1, "expected": float(pd[part].mean()), "observed": float(outcome[part].mean()), "n": len(part)}
        for i, part in enumerate(np.array_split(order, groups))
        if len(part)
    ]


def score_distribution(scores: FloatArray, *, groups: int = 10) -> dict[str, list[float]]:
    """Decile edges of the training scores and the share in each bin: the PSI reference."""
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, groups + 1)[1:-1]))
    shares = np.bincount(np.searchsorted(edges, scores, side="right"), minlength=len(edges) + 1) / max(len(scores), 1)
    return {"edges": [float(e) for e in edges], "shares": [float(s) for s in shares]}


def psi(reference: Mapping[str, Sequence[float]], scores: FloatArray) -> float:
    """Population stability index of `scores` against a training distribution."""
    edges = np.asarray(reference["edges"], dtype=np.float64)
    expected = np.asarray(reference["shares"], dtype=np.float64)
    if len(scores) == 0 or len(expected) != len(edges) + 1:
        return 0.0
    actual = np.bincount(np.searchsorted(edges, scores, side="right"), minlength=len(edges) + 1) / len(scores)
    expected, actual = np.clip(expected, 1e-4, None), np.clip(actual, 1e-4, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def evaluate(model: Scorecard, data: Dataset) -> dict[str, Any]:
    """AUC, KS, Gini, calibration and the score distribution of `model` on `data`."""
    matrix = columns_matrix(model, data.columns, len(data))
    z, _ = log_odds(model, matrix)
    scores = score_matrix(model, matrix)
    area = auc(z, data.outcome)
    return {
        "rows": len(data),
        "default_rate": float(data.outcome.mean()) if len(data) else 0.0,
        "auc": area,
        "gini": 2 * area - 1,
        "ks": ks(z, data.outcome),
        "calibration": calibration(scores.pd, data.outcome),
        "score_distribution": score_distribution(scores.score.astype(np.float64)),
    }


def should_promote(*, challenger_auc: float, champion_auc: float | None, min_gain: float = 0.0) -> bool:
    """A challenger replaces the champion only when its hold-out AUC beats the champion's on the same rows."""
    return champion_auc is None or challenger_auc > champion_auc + min_gain
