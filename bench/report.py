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

    @property
    def ratio(self) -> float:
        """Share of the ceiling reached (for times: ceiling time / our time)."""
        if self.higher_is_better:
            return self.value / self.ceiling if self.ceiling else 0.0
        return self.ceiling / self.value if self.value else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ratio": round(self.ratio, 4)}


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


def latency_results(name: str, ours: Latencies, *, ceiling_name: str, ceiling: Latencies, detail: str) -> list[Result]:
    """Two rows in milliseconds, `name` p50 (carrying `detail`) and p99, each beside the ceiling's same percentile."""
    return [
        Result(
            f"{name} p{q}",
            getattr(ours, f"p{q}") * 1000,
            "ms",
            f"{ceiling_name} p{q}",
            getattr(ceiling, f"p{q}") * 1000,
            higher_is_better=False,
            detail=detail if q == 50 else "",
        )
        for q in (50, 99)
    ]


def print_table(results: list[Result]) -> None:
    """Print the results as an aligned table."""
    header = f"{'benchmark':44} {'value':>14} {'unit':10} {'raw ceiling':>14}  {'ceiling measured':36} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.name:44} {r.value:>14,.1f} {r.unit:10} {r.ceiling:>14,.1f}  {r.ceiling_name:36} {r.ratio:>6.2f}")
        if r.detail:
            print(f"    {r.detail}")
