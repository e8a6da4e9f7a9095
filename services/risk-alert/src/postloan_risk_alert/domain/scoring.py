"""The behavioural scorecard: a logistic model on binned features (WoE), scored with numpy.

logit(PD) = intercept + Σ coefficient_f × WoE_f(bin of x_f), where WoE = ln(%bad / %good) of the bin
(positive = riskier) and coefficients are ≥ 0, so a worse bin never lowers the PD. The score is a
points scale on the odds of good: base_score at base_odds, `pdo` points to double the odds.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Feature:
    """A model input: its name, what it means, and whether risk rises (+1) or falls (-1) with it."""

    name: str
    direction: int
    description: str


# Everything a scorecard may use; a model picks a subset. Missing values (NaN) get their own bin.
FEATURES: tuple[Feature, ...] = (
    Feature("dpd", 1, "current days past due"),
    Feature("max_dpd_3m", 1, "maximum DPD over the last 3 months"),
    Feature("max_dpd_6m", 1, "maximum DPD over the last 6 months"),
    Feature("max_dpd_12m", 1, "maximum DPD over the last 12 months"),
    Feature("episodes_30", 1, "delinquency episodes that reached 30+ DPD"),
    Feature("episodes_60", 1, "delinquency episodes that reached 60+ DPD"),
    Feature("episodes_90", 1, "delinquency episodes that reached 90+ DPD"),
    Feature("months_since_delinquency", -1, "months since the loan was last past due (missing: never)"),
    Feature("paid_due_ratio", -1, "amount paid ÷ amount fallen due"),
    Feature("partial_share", 1, "share of payments that left arrears behind"),
    Feature("missed_count", 1, "installments missed"),
    Feature("consecutive_misses", 1, "installments missed in a row"),
    Feature("broken_promises", 1, "promises to pay broken"),
    Feature("negative_contact_share", 1, "share of contacts refused, disputed, wrong number or hardship"),
    Feature("restructured", 1, "the loan was restructured (1) or not (0)"),
    Feature("debt_ratio", 1, "liabilities ÷ assets at the latest assessment"),
    Feature("current_ratio", -1, "current assets ÷ current liabilities at the latest assessment"),
    Feature("revenue_change", -1, "revenue change on the previous assessment period"),
)
FEATURE_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}

DEFAULT_GRADES: tuple[tuple[str, float], ...] = (("A", 0.01), ("B", 0.03), ("C", 0.08), ("D", 0.20), ("E", 1.0))


@dataclass(frozen=True)
class Bins:
    """One feature of a scorecard: bin upper bounds (inclusive), a WoE per bin and its coefficient.

    With k edges there are k + 1 value bins, (-inf, e0], (e0, e1], …, (e_{k-1}, inf), then a last
    bin for missing values.
    """

    feature: str
    edges: tuple[float, ...]
    woe: tuple[float, ...]
    coefficient: float

    def __post_init__(self) -> None:
        if len(self.woe) != len(self.edges) + 2:
            raise ValueError(f"{self.feature}: {len(self.edges)} edges need {len(self.edges) + 2} WoE values")
        if list(self.edges) != sorted(set(self.edges)):
            raise ValueError(f"{self.feature}: edges must be strictly increasing")

    def bin_of(self, values: FloatArray) -> IntArray:
        """The bin index of each value (the last bin for NaN)."""
        index = np.searchsorted(np.asarray(self.edges, dtype=np.float64), values, side="left").astype(np.int64)
        return np.where(np.isnan(values), len(self.edges) + 1, index)

    def points(self) -> FloatArray:
        """Each bin's contribution to the log-odds of default."""
        return self.coefficient * np.asarray(self.woe, dtype=np.float64)


@dataclass(frozen=True)
class Scorecard:
    """A versioned, JSON-serialisable scorecard."""

    version: str
    intercept: float
    bins: tuple[Bins, ...]
    base_score: float = 600.0
    base_odds: float = 20.0  # odds of good at base_score
    pdo: float = 50.0  # points to double the odds
    grades: tuple[tuple[str, float], ...] = DEFAULT_GRADES
    description: str = ""
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def features(self) -> tuple[str, ...]:
        """The names of the model's inputs."""
        return tuple(b.feature for b in self.bins)

    def to_json(self) -> dict[str, Any]:
        """The JSON artifact of the model."""
        return asdict(self)

    def dumps(self) -> str:
        """The artifact as text."""
        return json.dumps(self.to_json(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scorecard:
        """Rebuild a model from its artifact; raises ValueError when it is malformed."""
        try:
            bins = tuple(
                Bins(
                    feature=str(b["feature"]),
                    edges=tuple(float(e) for e in b["edges"]),
                    woe=tuple(float(w) for w in b["woe"]),
                    coefficient=float(b["coefficient"]),
                )
                for b in data["bins"]
            )
            return cls(
                version=str(data["version"]),
                intercept=float(data["intercept"]),
                bins=bins,
                base_score=float(data.get("base_score", 600.0)),
                base_odds=float(data.get("base_odds", 20.0)),
                pdo=float(data.get("pdo", 50.0)),
                grades=tuple((str(g), float(p)) for g, p in data.get("grades", DEFAULT_GRADES)),
                description=str(data.get("description", "")),
                training=dict(data.get("training", {})),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed scorecard artifact: {exc!r}") from exc


@dataclass(frozen=True)
class Scores:
    """Column arrays of a scoring run."""

    pd: FloatArray
    score: IntArray
    grade: IntArray  # index into the model's grades
    reasons: IntArray  # (n, 3) feature indices into model.bins, -1 where fewer than 3 apply


def columns_matrix(model: Scorecard, columns: Mapping[str, Sequence[float] | FloatArray], n: int) -> FloatArray:
    """The (n, features) float matrix of the model's inputs; absent columns are all missing."""
    matrix = np.full((n, len(model.bins)), np.nan, dtype=np.float64)
    for j, b in enumerate(model.bins):
        if b.feature in columns:
            matrix[:, j] = np.asarray(columns[b.feature], dtype=np.float64)
    return matrix


def log_odds(model: Scorecard, matrix: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The log-odds of default per row and each feature's contribution (n, features)."""
    contributions = np.empty_like(matrix)
    for j, b in enumerate(model.bins):
        contributions[:, j] = b.points()[b.bin_of(matrix[:, j])]
    return model.intercept + contributions.sum(axis=1), contributions


def score_matrix(model: Scorecard, matrix: FloatArray, *, reasons: int = 3) -> Scores:
    """Score every row of `matrix`: PD, points, grade and the top reason codes."""
    z, contributions = log_odds(model, matrix)
    pd = 1.0 / (1.0 + np.exp(-z))
    pd = np.clip(pd, 1e-6, 1 - 1e-6)
    points = points_of(model, pd)
    thresholds = np.asarray([limit for _, limit in model.grades[:-1]], dtype=np.float64)
    grade = np.searchsorted(thresholds, pd, side="right").astype(np.int64)
    # A reason is how far a feature's bin sits above that feature's best bin; a missing value
    # (no assessment, no contact yet) is not something the customer did, so it is never a reason.
    best = np.asarray([b.points().min() for b in model.bins], dtype=np.float64)
    excess = np.where(np.isnan(matrix), 0.0, contributions - best)
    k = min(reasons, len(model.bins))
    top = np.argsort(-excess, axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(excess, top, axis=1)
    top = np.where(chosen > 1e-9, top, -1)
    if k < reasons:
        top = np.hstack([top, np.full((len(top), reasons - k), -1, dtype=np.int64)])
    return Scores(pd=pd, score=points, grade=grade, reasons=top.astype(np.int64))


def points_of(model: Scorecard, pd: FloatArray) -> IntArray:
    """The points of each PD: base_score + pdo/ln 2 × ln(odds of good / base_odds), within 0–1000."""
    factor = model.pdo / math.log(2)
    odds_good = (1.0 - pd) / pd
    return np.clip(np.rint(model.base_score + factor * np.log(odds_good / model.base_odds)), 0, 1000).astype(np.int64)


def score_rows(model: Scorecard, rows: Sequence[Mapping[str, float | None]]) -> list[dict[str, Any]]:
    """Score a few feature dicts (None = missing); for APIs and tests."""
    columns = {
        name: np.asarray([np.nan if r.get(name) is None else float(r[name] or 0.0) for r in rows])
        for name in model.features
    }
    scores = score_matrix(model, columns_matrix(model, columns, len(rows)))
    return [
        {
            "pd": float(scores.pd[i]),
            "score": int(scores.score[i]),
            "grade": model.grades[int(scores.grade[i])][0],
            "reason_codes": [model.bins[int(j)].feature for j in scores.reasons[i] if j >= 0],
        }
        for i in range(len(rows))
    ]
