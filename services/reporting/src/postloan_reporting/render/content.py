"""What every format of the management report shows, as label/value rows."""

from __future__ import annotations

from postloan_reporting.domain.kpis import Slice
from postloan_reporting.domain.model import BUCKETS
from postloan_reporting.render.i18n import amount, change, fixed, label, pct, points, summary_lines
from postloan_reporting.service.effectiveness import ArmReport, Cohort, ExperimentArms
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
            rows.append([label(key, lang), pct(now), pct(before), change(now, before, ratio=True, lang=lang)])
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


def summary(report: Management, lang: str) -> list[str]:
    """The executive summary's sentences."""
    return summary_lines(report.summary, lang)


def kpi_table(dimension: str, slices: list[Slice], lang: str) -> list[list[str]]:
    """Header and one row per product or branch: loans, balance, overdue rate, PAR30, NPL ratio."""
    keys = ("loans", "outstanding", "overdue_rate", "par30", "npl_ratio")
    rows = [[label(dimension, lang), *(label(k, lang) for k in keys)]]
    for s in slices:
        if s.kpis is not None:
            k = s.kpis
            rows.append(
                [s.key, str(k.loans), amount(k.outstanding), pct(k.overdue_rate), pct(k.par30), pct(k.npl_ratio)]
            )
    return rows


def stage_table(report: Management, lang: str) -> list[list[str]]:
    """Header, one row per IFRS 9 stage and the total: loans, exposure, share, ECL, ECL ÷ exposure."""
    keys = ("loans", "exposure", "share", "ecl", "stage_coverage")
    rows = [[label("stage", lang), *(label(k, lang) for k in keys)]]
    p = report.risk.provisions
    for s in p.stages:
        name = label(f"stage_{s.stage}", lang)
        rows.append([name, str(s.loans), amount(s.exposure), pct(s.exposure_share), amount(s.ecl), pct(s.coverage)])
    loans = sum(s.loans for s in p.stages)
    rows.append([label("all", lang), str(loans), amount(p.exposure), "", amount(p.ecl), ""])
    return rows


def provision_line(report: Management, lang: str) -> str:
    """拨备覆盖率 with its terms."""
    p = report.risk.provisions
    return (
        f"{label('provision_coverage', lang)}: {pct(p.provision_coverage)} = {label('ecl', lang)} {amount(p.ecl)}"
        f" ÷ {label('npl_balance', lang)} {amount(p.npl_balance)}"
    )


def collateral_line(report: Management, lang: str) -> str:
    """NPL coverage by collateral with its terms."""
    p = report.risk.provisions
    return (
        f"{label('npl_collateral_coverage', lang)}: {pct(p.npl_collateral_coverage)}"
        f" = {label('npl_secured', lang)} {amount(p.npl_secured)}"
        f" ÷ {label('npl_balance', lang)} {amount(p.npl_balance)}"
    )


def review_table(report: Management, lang: str) -> list[list[str]]:
    """Header, one row per branch and the total: due this month, completed, on time, overdue, rate."""
    keys = ("reviews_due", "reviews_completed", "reviews_on_time", "reviews_overdue", "completion_rate")
    rows = [[label("branch", lang), *(label(k, lang) for k in keys)]]
    for r in [*report.risk.reviews_by_branch, report.risk.reviews]:
        name = label("all", lang) if r is report.risk.reviews else r.branch
        rows.append([name, str(r.due), str(r.completed), str(r.on_time), str(r.overdue), pct(r.completion_rate)])
    return rows


RECOVERY_KEYS = ("loans", "written_off", "recovered", "recovery_rate")
FUND_USE_KEYS = ("open_flags", "loans_flagged", "outstanding_flagged", "raised", "resolved")


def period_line(report: Management, lang: str) -> str:
    """The period the recoveries section covers."""
    r = report.recoveries
    return f"{label('period', lang)}: {r.start.isoformat()} – {r.end.isoformat()}"


def recovery_tables(report: Management, lang: str) -> list[tuple[str, list[list[str]]]]:
    """(heading, header and rows with the total last) per product, branch and write-off cohort."""
    r = report.recoveries
    tables = []
    for heading, dimension, slices in (
        ("recoveries_by_product", "product", r.by_product),
        ("recoveries_by_branch", "branch", r.by_branch),
        ("recoveries_by_cohort", "write_off_cohort", r.by_cohort),
    ):
        rows = [[label(dimension, lang), *(label(k, lang) for k in RECOVERY_KEYS)]]
        for s in [*slices, r.total]:
            name = label("all", lang) if s is r.total else s.key
            rows.append([name, str(s.loans), amount(s.written_off), amount(s.recovered), pct(s.recovery_rate)])
        tables.append((heading, rows))
    return tables


def agency_table(report: Management, lang: str) -> list[list[str]]:
    """Header and one row per agency: cases placed, recovered while placed, commission owed."""
    keys = ("cases_placed", "amount_recovered", "commission_owed")
    rows = [[label("agency", lang), *(label(k, lang) for k in keys)]]
    for a in report.recoveries.agencies:
        rows.append([a.agency_id, str(a.cases_placed), amount(a.amount_recovered), amount(a.commission_owed)])
    return rows


def fund_use_tables(report: Management, lang: str) -> list[tuple[str, list[list[str]]]]:
    """(heading, header and rows) by rule (with the total last), product and branch."""
    f = report.fund_use
    tables = []
    for heading, dimension, slices in (
        ("fund_use_by_rule", "rule", [*f.by_rule, f.total]),
        ("fund_use_by_product", "product", f.by_product),
        ("fund_use_by_branch", "branch", f.by_branch),
    ):
        rows = [[label(dimension, lang), *(label(k, lang) for k in FUND_USE_KEYS)]]
        for s in slices:
            name = label("all", lang) if s is f.total else (label(s.key, lang) if dimension == "rule" else s.key)
            rows.append(
                [
                    name,
                    str(s.open_flags),
                    str(s.loans_flagged),
                    amount(s.outstanding_flagged),
                    str(s.raised),
                    str(s.resolved),
                ]
            )
        tables.append((heading, rows))
    return tables


def _cohort_row(name: str, cohort: Cohort, lang: str) -> list[str]:
    rate = cohort.default_rate
    period = f"{cohort.start.isoformat()} – {cohort.end.isoformat()}"
    difference, p_value = points(rate.difference, lang), fixed(rate.p_value)
    return [label(name, lang), period, str(rate.trials), str(rate.successes), pct(rate.rate), difference, p_value]


def programme_table(report: Management, lang: str) -> list[list[str]]:
    """Header, the period's bookings (against the year before) and the year before's: loans, defaults, rate."""
    view = report.effectiveness.programme
    keys = ("bookings", "period", "loans_booked", "defaulted", "default_rate", "difference", "p_value")
    return [
        [label(k, lang) for k in keys],
        _cohort_row("cohort_current", view.current, lang),
        _cohort_row("cohort_year_before", view.year_before, lang),
    ]


def default_rule_line(report: Management, lang: str) -> str:
    """What counts as a default, on the horizon both cohorts are judged on."""
    view = report.effectiveness.programme
    return label("default_rule", lang).format(days=view.horizon_days, dpd=view.default_after_dpd)


def _cure_cell(arm: ArmReport) -> str:
    rate = arm.rates["cure_rate_30d"]
    return "–" if rate.rate is None else f"{pct(rate.rate)} [{pct(rate.ci_low)}, {pct(rate.ci_high)}]"


def experiment_heading(experiment: ExperimentArms, lang: str) -> str:
    """The experiment's id and its champion arm."""
    champion = experiment.champion or "–"
    return f"{label('experiment', lang)} {experiment.experiment} · {label('champion', lang)}: {champion}"


def arm_table(experiment: ExperimentArms, lang: str) -> list[list[str]]:
    """Header and one row per arm with cases: role, cases, mature cases, cure rate [95 % CI], difference from
    the champion's, p-value and cost per yuan recovered."""
    keys = ("arm", "role", "cases", "mature_cases", "cure_rate_ci", "vs_champion", "p_value", "cost_per_yuan")
    rows = [[label(k, lang) for k in keys]]
    for arm in experiment.arms:
        cure = arm.rates["cure_rate_30d"]
        role = "–" if arm.role is None else label(arm.role, lang)
        rows.append(
            [
                arm.arm,
                role,
                str(arm.cases),
                str(arm.mature_cases),
                _cure_cell(arm),
                points(cure.difference, lang),
                fixed(cure.p_value),
                fixed(arm.cost_per_yuan_recovered),
            ]
        )
    return rows


def effectiveness_period_line(report: Management, lang: str) -> str:
    """The period whose bookings and opened cases the section covers."""
    e = report.effectiveness
    return f"{label('period', lang)}: {e.start.isoformat()} – {e.end.isoformat()}"
