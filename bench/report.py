"""One benchmark figure beside its raw ceiling."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    ceiling_name: str
    ceiling: float
    higher_is_better: bool = True
    detail: str = ""
    # The target for this figure in its unit; None where it names none or judges only full scale.
    target: float | None = None

    @property
    def met(self) -> bool | None:
        """Whether the target is reached (None without a target)."""
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    @property
    def ratio(self) -> float:
        """Share of the ceiling reached (for times: ceiling time / our time)."""
        if self.higher_is_better:
            return self.value / self.ceiling if self.ceiling else 0.0
        return self.ceiling / self.value if self.value else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ratio": round(self.ratio, 4), "met": self.met}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) of `values`, interpolated linearly between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0–100, not {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Latencies:
    """A series of latencies in seconds: how many, p50, p99 and, when timed, how many per second of wall time."""

    count: int
    p50: float
    p99: float
    per_second: float | None = None

    @classmethod
    def of(cls, seconds: Sequence[float], *, wall_s: float | None = None) -> Latencies:
        """Summarise `seconds`, measured over `wall_s` seconds of wall time when given."""
        if wall_s is not None and wall_s <= 0:
            raise ValueError("wall time must be positive")
        rate = len(seconds) / wall_s if wall_s is not None else None
        return cls(len(seconds), percentile(seconds, 50), percentile(seconds, 99), rate)

    def describe(self) -> str:
        rate = f", {self.per_second:,.0f}/s" if self.per_second is not None else ""
        return f"p50 {self.p50 * 1000:,.1f} ms, p99 {self.p99 * 1000:,.1f} ms{rate} over {self.count:,}"


def at_full_scale(target: float, scale: float) -> float | None:
    """`target` at full scale; a target bound to the book's size is not judged on a smaller one (no extrapolation)."""
    return target if scale >= 1.0 else None


def latency_results(
    name: str,
    ours: Latencies,
    *,
    ceiling_name: str,
    ceiling: Latencies,
    detail: str,
    p50_within: float | None = None,
) -> list[Result]:
    """Two rows in milliseconds, `name` p50 (carrying `detail`) and p99, each beside the ceiling's same percentile.

    With `p50_within`, the p50 row's target is that many times the ceiling's p50.
    """
    return [
        Result(
            f"{name} p{q}",
            getattr(ours, f"p{q}") * 1000,
            "ms",
            f"{ceiling_name} p{q}",
            getattr(ceiling, f"p{q}") * 1000,
            higher_is_better=False,
            detail=detail if q == 50 else "",
            target=ceiling.p50 * 1000 * p50_within if q == 50 and p50_within is not None else None,
        )
        for q in (50, 99)
    ]


def print_table(results: list[Result]) -> None:
    """Print the results as an aligned table."""
    header = (
        f"{'benchmark':44} {'value':>14} {'unit':10} {'raw ceiling':>14}  {'ceiling measured':36} {'ratio':>6} "
        f"{'target':>10} {'met':4}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        target = f"{r.target:>10,.1f}" if r.target is not None else f"{'-':>10}"
        met = {True: "yes", False: "NO", None: "-"}[r.met]
        print(
            f"{r.name:44} {r.value:>14,.1f} {r.unit:10} {r.ceiling:>14,.1f}  {r.ceiling_name:36} {r.ratio:>6.2f} "
            f"{target} {met}"
        )
        if r.detail:
            print(f"    {r.detail}")
