"""The tabular form of each report: rows for CSV downloads and spreadsheet sheets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from postloan_reporting.domain.fund_use import FundUseSlice
from postloan_reporting.domain.kpis import Kpis, Portfolio, Slice
from postloan_reporting.domain.recoveries import RecoverySlice
from postloan_reporting.domain.roll_rates import MatrixRow
from postloan_reporting.domain.vintage import Curve
from postloan_reporting.service.effectiveness import MonthEffectiveness
from postloan_reporting.service.fund_use import FundUseReport
from postloan_reporting.service.recoveries import RecoveriesReport
from postloan_reporting.service.reports import CollectionsReport, RiskReport

Row = dict[str, Any]


def kpi_row(dimension: str, key: str, kpis: Kpis) -> Row:
    """One line of KPIs."""
    return {
        "dimension": dimension,
        "key": key,
        "loans": kpis.loans,
        "outstanding": kpis.outstanding,
        "overdue_balance": kpis.overdue_balance,
        "overdue_amount": kpis.overdue_amount,
        "overdue_rate": kpis.overdue_rate,
        "par30": kpis.par30,
        "par90": kpis.par90,
        "npl_balance": kpis.npl_balance,
        "npl_ratio": kpis.npl_ratio,
    }


def portfolio_rows(report: Portfolio) -> list[Row]:
    """Total, then per product, then per branch."""
    rows = [kpi_row("total", "all", report.kpis)]
    for dimension, slices in (("product", report.by_product), ("branch", report.by_branch)):
        rows += [kpi_row(dimension, s.key, s.kpis) for s in slices if s.kpis is not None]
    return rows


def slice_rows(name: str, slices: list[Slice]) -> list[Row]:
    """Count, balance and share per bucket or class."""
    return [{name: s.key, "loans": s.loans, "balance": s.balance, "share": s.share} for s in slices]


def roll_rate_rows(matrix: list[MatrixRow]) -> list[Row]:
    """One row per (from, to) cell."""
    return [
        {"from_bucket": r.from_bucket, "to": c.to, "loans": c.loans, "balance": c.balance, "rate": c.rate}
        for r in matrix
        for c in r.cells
    ]


def vintage_rows(curves: list[Curve]) -> list[Row]:
    """One row per cohort and month on book."""
    return [
        {
            "vintage": c.vintage.strftime("%Y-%m"),
            "disbursed": c.disbursed,
            "mob": p.mob,
            "observed_on": p.observed_on,
            "balance_30": p.balance_30,
            "share_30": p.share_30,
            "balance_90": p.balance_90,
            "share_90": p.share_90,
        }
        for c in curves
        for p in c.points
    ]


def collections_rows(report: CollectionsReport) -> list[Row]:
    """Rates overall, per agent and per queue."""
    rows = []
    for group, items in (("all", [report.overall]), ("agent", report.by_agent), ("queue", report.by_queue)):
        for p in items:
            a = p.activity
            rows.append(
                {
                    "group": group,
                    "key": p.key,
                    "attempts": a.attempts,
                    "contact_rate": p.contact_rate,
                    "right_party_contact_rate": p.right_party_contact_rate,
                    "ptp_rate": p.ptp_rate,
                    "ptp_kept_rate": p.ptp_kept_rate,
                    "cases_worked": a.cases_worked,
                    "cure_rate": p.cure_rate,
                    "amount_collected_per_case": p.amount_collected_per_case,
                }
            )
    return rows


def stage_rows(report: RiskReport) -> list[Row]:
    """One row per IFRS 9 stage, then the total with the provision coverage."""
    p = report.provisions
    rows: list[Row] = [
        {
            "stage": s.stage,
            "loans": s.loans,
            "exposure": s.exposure,
            "exposure_share": s.exposure_share,
            "ecl": s.ecl,
            "coverage": s.coverage,
            "npl_balance": None,
            "provision_coverage": None,
        }
        for s in p.stages
    ]
    total = {"stage": "all", "loans": sum(s.loans for s in p.stages), "exposure": p.exposure, "exposure_share": None}
    rows.append(
        total
        | {"ecl": p.ecl, "coverage": None, "npl_balance": p.npl_balance, "provision_coverage": p.provision_coverage}
    )
    return rows


def review_rows(report: RiskReport) -> list[Row]:
    """One row per branch, then the total (`all`)."""
    return [
        {
            "branch": r.branch,
            "due": r.due,
            "completed": r.completed,
            "on_time": r.on_time,
            "overdue": r.overdue,
            "completion_rate": r.completion_rate,
            "on_time_rate": r.on_time_rate,
        }
        for r in [*report.reviews_by_branch, report.reviews]
    ]


def _risk_row(kind: str, key: str, count: int | None, detail: str = "", **figures: Any) -> Row:
    return {"kind": kind, "key": key, "detail": detail, "count": count} | {
        name: figures.get(name) for name in ("amount", "ecl", "rate")
    }


def risk_rows(report: RiskReport) -> list[Row]:
    """Score bands, grades, open alerts, stages, provision coverage and reviews as one long table."""
    rows = [_risk_row("score_band", b, n) for b, n, _ in report.score_bands]
    rows += [_risk_row("grade", g, n) for g, n in report.grades]
    rows += [_risk_row("open_alert", r, n, s) for r, s, n in report.open_alerts]
    p = report.provisions
    rows += [
        _risk_row("stage", f"stage_{s.stage}", s.loans, amount=s.exposure, ecl=s.ecl, rate=s.coverage) for s in p.stages
    ]
    rows.append(
        _risk_row("provision_coverage", "all", None, amount=p.npl_balance, ecl=p.ecl, rate=p.provision_coverage)
    )
    rows.append(_risk_row("npl_collateral_coverage", "all", None, amount=p.npl_secured, rate=p.npl_collateral_coverage))
    for r in [report.reviews, *report.reviews_by_branch]:
        rows.append(_risk_row("review_due", r.branch, r.due))
        rows.append(_risk_row("review_completed", r.branch, r.completed, rate=r.completion_rate))
        rows.append(_risk_row("review_overdue", r.branch, r.overdue))
    return rows


def recovery_rows(report: RecoveriesReport, names: Mapping[str, str] | None = None) -> list[Row]:
    """Total, then per product, branch and write-off cohort: written off, recovered, recovery rate."""
    named = names or {}
    groups: list[tuple[str, list[RecoverySlice]]] = [("total", [report.total]), ("product", report.by_product)]
    groups += [("branch", report.by_branch), ("cohort", report.by_cohort)]
    return [
        {
            "dimension": named.get(dimension, dimension),
            "key": s.key,
            "loans": s.loans,
            "written_off": s.written_off,
            "recovered": s.recovered,
            "recovery_rate": s.recovery_rate,
        }
        for dimension, slices in groups
        for s in slices
    ]


def agency_rows(report: RecoveriesReport) -> list[Row]:
    """Per agency: cases placed, recovered while placed, commission owed."""
    return [
        {
            "agency_id": a.agency_id,
            "cases_placed": a.cases_placed,
            "amount_recovered": a.amount_recovered,
            "commission_owed": a.commission_owed,
        }
        for a in report.agencies
    ]


def fund_use_rows(report: FundUseReport, names: Mapping[str, str] | None = None) -> list[Row]:
    """Total, then per rule, product and branch: open flags, loans flagged, their outstanding, raised, resolved."""
    named = names or {}
    groups: list[tuple[str, list[FundUseSlice]]] = [("total", [report.total]), ("rule", report.by_rule)]
    groups += [("product", report.by_product), ("branch", report.by_branch)]
    return [
        {
            "dimension": named.get(dimension, dimension),
            "key": named.get(s.key, s.key),
            "open_flags": s.open_flags,
            "loans_flagged": s.loans_flagged,
            "outstanding_flagged": s.outstanding_flagged,
            "raised": s.raised,
            "resolved": s.resolved,
        }
        for dimension, slices in groups
        for s in slices
    ]


def recoveries_csv_rows(report: RecoveriesReport) -> list[Row]:
    """The recoveries report as one long table: the recovery rows, then one row per agency."""
    agency_fields = ("cases_placed", "amount_recovered", "commission_owed")
    rows = [r | dict.fromkeys(agency_fields) for r in recovery_rows(report)]
    blank = dict.fromkeys(("loans", "written_off", "recovered", "recovery_rate"))
    for a in agency_rows(report):
        rows.append({"dimension": "agency", "key": a.pop("agency_id"), **blank, **a})
    return rows


def programme_rows(section: MonthEffectiveness, names: Mapping[str, str] | None = None) -> list[Row]:
    """The period's bookings (with the difference from the year before and its p-value), then the year before's."""
    named = names or {}
    view = section.programme
    rows = []
    for key, cohort in (("current", view.current), ("year_before", view.year_before)):
        rate = cohort.default_rate
        rows.append(
            {
                "cohort": named.get(key, key),
                "start": cohort.start,
                "end": cohort.end,
                "horizon_days": view.horizon_days,
                "loans": rate.trials,
                "defaulted": rate.successes,
                "default_rate": rate.rate,
                "difference": rate.difference,
                "p_value": rate.p_value,
            }
        )
    return rows


def arm_rows(section: MonthEffectiveness, names: Mapping[str, str] | None = None) -> list[Row]:
    """Per experiment and arm with cases: cases, the 30-day cure rate with its interval, difference from the
    champion and p-value, cost, amount collected and cost per yuan recovered."""
    named = names or {}
    return [
        {
            "experiment": e.experiment,
            "arm": a.arm,
            "role": named.get(a.role or "", a.role),
            "cases": a.cases,
            "mature_cases": a.mature_cases,
            "cure_rate_30d": a.rates["cure_rate_30d"].rate,
            "ci_low": a.rates["cure_rate_30d"].ci_low,
            "ci_high": a.rates["cure_rate_30d"].ci_high,
            "difference": a.rates["cure_rate_30d"].difference,
            "p_value": a.rates["cure_rate_30d"].p_value,
            "total_cost": a.total_cost,
            "amount_collected": a.amount_collected,
            "cost_per_yuan_recovered": a.cost_per_yuan_recovered,
        }
        for e in section.experiments
        for a in e.arms
    ]
