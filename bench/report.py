"""One benchmark figure beside its raw ceiling."""

from __future__ import annotations

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


def print_table(results: list[Result]) -> None:
    """Print the results as an aligned table."""
    header = f"{'benchmark':44} {'value':>14} {'unit':10} {'raw ceiling':>14}  {'ceiling measured':36} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.name:44} {r.value:>14,.1f} {r.unit:10} {r.ceiling:>14,.1f}  {r.ceiling_name:36} {r.ratio:>6.2f}")
        if r.detail:
            print(f"    {r.detail}")
