"""What every format of the management report shows, as label/value rows."""

from __future__ import annotations

from postloan_reporting.domain.model import BUCKETS
from postloan_reporting.render.i18n import amount, change, label, pct
from postloan_reporting.service.management import Management

HEADLINE = (
    ("loans", False, False),
    ("outstanding", True, False),
    ("overdue_balance", True, False),
    ("overdue_rate", False, True),
    ("par30", False, True),
    ("npl_ratio", False, True),
)


def headline(report: Management, lang: str) -> list[list[str]]:
    """[label, now, previous month end, change] for each headline KPI."""
    rows = []
    for key, money, is_ratio in HEADLINE:
        now, before = getattr(report.portfolio.kpis, key), getattr(report.previous_kpis, key)
        if is_ratio:
            rows.append([label(key, lang), pct(now), pct(before), change(now, before, ratio=True)])
        elif money:
            rows.append([label(key, lang), amount(now), amount(before), change(now, before, ratio=False)])
        else:
            rows.append([label(key, lang), str(now), str(before), f"{now - before:+d}"])
    return rows


def heat_rows(report: Management) -> list[tuple[str, list[float | None]]]:
    """Roll-rate matrix as floats for colouring (None: no balance in the row)."""
    return [(r.from_bucket, [None if c.rate is None else float(c.rate) for c in r.cells]) for r in report.roll_rates]


def columns(lang: str) -> list[str]:
    """Roll-rate column names."""
    return [*BUCKETS, label("closed", lang)]


def funnel(report: Management, lang: str) -> list[tuple[str, int]]:
    """Collections funnel steps with their labels."""
    return [(label(step, lang), count) for step, count in report.collections.funnel]


def mob_names(report: Management) -> list[str]:
    """Vintage x-axis labels: months on book 0..the longest shown curve's last (M0, M1, …)."""
    longest = max((p.mob for c in report.vintage[-6:] for p in c.points), default=0)
    return [f"M{mob}" for mob in range(longest + 1)]
