"""The management report as a workbook: a summary sheet and one sheet per table."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from postloan_reporting.domain.exports import starts_like_formula
from postloan_reporting.render.content import headline
from postloan_reporting.render.i18n import label
from postloan_reporting.service import tables
from postloan_reporting.service.management import Management

SHEETS = ("Summary", "Trend", "Aging", "Classification", "RollRates", "Vintage", "Collections")


def _sheet(workbook: Workbook, title: str, rows: list[dict[str, Any]]) -> None:
    sheet = workbook.create_sheet(title)
    if not rows:
        return
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append([value.isoformat() if hasattr(value, "isoformat") else value for value in row.values()])


def _as_text(workbook: Workbook) -> None:
    """Write formula-like text as text: openpyxl would store "=…" as a formula, Excel re-reads the rest."""
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if starts_like_formula(cell.value):
                    cell.data_type = "s"
                    cell.quotePrefix = True


def render_xlsx(report: Management, lang: str) -> bytes:
    """The workbook's bytes (money and ratios as numbers)."""
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = "Summary"
    summary.append([label("title", lang)])
    summary.append(
        [label("as_of", lang), report.as_of.isoformat(), label("previous", lang), report.previous.isoformat()]
    )
    summary.append(["", label("as_of", lang), label("previous", lang), label("change", lang)])
    for row in headline(report, lang):
        summary.append(row)
    summary.append([])
    summary.append(["kpi", "value", "previous"])
    for key in ("loans", "outstanding", "overdue_balance", "overdue_rate", "par30", "npl_ratio"):
        summary.append([key, getattr(report.portfolio.kpis, key), getattr(report.previous_kpis, key)])
    _sheet(workbook, "Trend", [tables.kpi_row("date", p.day.isoformat(), p.kpis) for p in report.trend])
    _sheet(workbook, "Aging", tables.slice_rows("bucket", report.portfolio.by_bucket))
    _sheet(workbook, "Classification", tables.slice_rows("classification", report.portfolio.by_classification))
    _sheet(workbook, "RollRates", tables.roll_rate_rows(report.roll_rates))
    _sheet(workbook, "Vintage", tables.vintage_rows(report.vintage))
    _sheet(workbook, "Collections", tables.collections_rows(report.collections))
    _as_text(workbook)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
