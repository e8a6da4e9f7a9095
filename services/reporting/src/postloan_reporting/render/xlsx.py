"""The management report as a workbook: a summary sheet and one sheet per table, with native charts
(aging bars, the overdue and NPL trend) and sheet and column names in the report's language."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.worksheet.worksheet import Worksheet

from postloan_reporting.domain.exports import starts_like_formula
from postloan_reporting.domain.fund_use import FUND_USE_RULES
from postloan_reporting.render.content import default_rule_line, headline, summary
from postloan_reporting.render.i18n import column_name, label, sheet_name
from postloan_reporting.service import tables
from postloan_reporting.service.management import Management

SHEETS = (
    "Summary",
    "Trend",
    "Aging",
    "Classification",
    "Products",
    "Branches",
    "Provisions",
    "Reviews",
    "RollRates",
    "Vintage",
    "Collections",
    "Recoveries",
    "Agencies",
    "FundUse",
    "Effectiveness",
)
TREND_SERIES = ("overdue_rate", "npl_ratio")
ROLES = ("champion", "challenger", "control")  # an experiment arm's role, named in the sheet's language


def _sheet(workbook: Workbook, key: str, rows: list[dict[str, Any]], lang: str) -> Worksheet:
    sheet = workbook.create_sheet(sheet_name(key, lang))
    if rows:
        sheet.append([column_name(name, lang) for name in rows[0]])
    for row in rows:
        sheet.append([value.isoformat() if hasattr(value, "isoformat") else value for value in row.values()])
    return sheet


def _aging_chart(sheet: Worksheet, lang: str) -> None:
    """Bars of the balance per bucket (column C), beside the table."""
    if sheet.max_row < 2:
        return
    chart = BarChart()
    chart.title, chart.y_axis.title, chart.legend = label("aging", lang), label("balance", lang), None
    chart.add_data(Reference(sheet, min_col=3, min_row=1, max_row=sheet.max_row), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=sheet.max_row))
    sheet.add_chart(chart, "F2")


def _trend_chart(sheet: Worksheet, names: list[str], lang: str) -> None:
    """Lines of the overdue rate and the NPL ratio over the trend's dates (column B)."""
    if sheet.max_row < 2:
        return
    chart = LineChart()
    chart.title, chart.y_axis.number_format = label("trend", lang), "0.00%"
    for key in TREND_SERIES:
        column = names.index(key) + 1
        chart.add_data(Reference(sheet, min_col=column, min_row=1, max_row=sheet.max_row), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=2, min_row=2, max_row=sheet.max_row))
    sheet.add_chart(chart, "B" + str(sheet.max_row + 3))


def _as_text(workbook: Workbook) -> None:
    """Write formula-like text as text: openpyxl would store "=…" as a formula, Excel re-reads the rest."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if starts_like_formula(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True


def _summary(sheet: Worksheet, report: Management, lang: str) -> None:
    sheet.title = sheet_name("Summary", lang)
    sheet.append([label("title", lang)])
    sheet.append([label("as_of", lang), report.as_of.isoformat(), label("previous", lang), report.previous.isoformat()])
    sheet.append(["", label("as_of", lang), label("previous", lang), label("change", lang)])
    for row in headline(report, lang):
        sheet.append(row)
    sheet.append([])
    sheet.append([column_name(name, lang) for name in ("kpi", "value", "previous")])
    for key in ("loans", "outstanding", "overdue_balance", "overdue_rate", "par30", "npl_ratio"):
        now, before = getattr(report.portfolio.kpis, key), getattr(report.previous_kpis, key)
        sheet.append([column_name(key, lang), now, before])
    sheet.append([column_name("provision_coverage", lang), report.risk.provisions.provision_coverage, None])
    sheet.append([column_name("npl_collateral_coverage", lang), report.risk.provisions.npl_collateral_coverage, None])
    sheet.append([])
    sheet.append([label("summary", lang)])
    for line in summary(report, lang):
        sheet.append([line])


def _block(sheet: Worksheet, rows: list[dict[str, Any]], lang: str) -> None:
    """A header of the rows' keys in `lang`, then the rows."""
    sheet.append([column_name(name, lang) for name in rows[0]])
    for row in rows:
        sheet.append([value.isoformat() if hasattr(value, "isoformat") else value for value in row.values()])


def _effectiveness(workbook: Workbook, report: Management, names: dict[str, str], lang: str) -> None:
    """The programme view, then the arms of each experiment with cases in the month (or a line: none)."""
    sheet = workbook.create_sheet(sheet_name("Effectiveness", lang))
    sheet.append([label("programme", lang)])
    _block(sheet, tables.programme_rows(report.effectiveness, names), lang)
    sheet.append([default_rule_line(report, lang)])
    sheet.append([])
    arms = tables.arm_rows(report.effectiveness, names)
    if arms:
        _block(sheet, arms, lang)
    else:
        sheet.append([label("no_experiment", lang)])


def _names(lang: str) -> dict[str, str]:
    """Dimension and rule names in the sheets' language (en keeps the export's codes)."""
    if lang == "en":
        return {}
    keys = ("total", "product", "branch", "cohort", "rule", *FUND_USE_RULES, *ROLES)
    named = {
        key: label("all" if key == "total" else "write_off_cohort" if key == "cohort" else key, lang) for key in keys
    }
    return named | {"current": label("cohort_current", lang), "year_before": label("cohort_year_before", lang)}


def render_xlsx(report: Management, lang: str) -> bytes:
    """The workbook's bytes (money and ratios as numbers)."""
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    _summary(first, report, lang)
    trend = [tables.kpi_row(column_name("date", lang), p.day.isoformat(), p.kpis) for p in report.trend]
    _trend_chart(_sheet(workbook, "Trend", trend, lang), list(trend[0]) if trend else [], lang)
    _aging_chart(_sheet(workbook, "Aging", tables.slice_rows("bucket", report.portfolio.by_bucket), lang), lang)
    classes = tables.slice_rows("classification", report.portfolio.by_classification)
    _sheet(workbook, "Classification", classes, lang)
    for key, dimension, slices in (
        ("Products", "product", report.portfolio.by_product),
        ("Branches", "branch", report.portfolio.by_branch),
    ):
        name = column_name(dimension, lang)
        _sheet(workbook, key, [tables.kpi_row(name, s.key, s.kpis) for s in slices if s.kpis is not None], lang)
    _sheet(workbook, "Provisions", tables.stage_rows(report.risk), lang)
    _sheet(workbook, "Reviews", tables.review_rows(report.risk), lang)
    _sheet(workbook, "RollRates", tables.roll_rate_rows(report.roll_rates), lang)
    _sheet(workbook, "Vintage", tables.vintage_rows(report.vintage), lang)
    _sheet(workbook, "Collections", tables.collections_rows(report.collections), lang)
    names = _names(lang)
    _sheet(workbook, "Recoveries", tables.recovery_rows(report.recoveries, names), lang)
    _sheet(workbook, "Agencies", tables.agency_rows(report.recoveries), lang)
    _sheet(workbook, "FundUse", tables.fund_use_rows(report.fund_use, names), lang)
    _effectiveness(workbook, report, names, lang)
    _as_text(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
