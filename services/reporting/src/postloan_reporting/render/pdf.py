"""The management report as a PDF: reportlab platypus, reportlab.graphics charts, and an embedded
subset of Noto Sans CJK SC (fonts/) for every string, so any viewer shows Chinese and `−`."""

from __future__ import annotations

import io
from collections.abc import Sequence
from html import escape
from pathlib import Path

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from postloan_reporting.render.content import (
    agency_table,
    arm_table,
    collateral_line,
    columns,
    default_rule_line,
    effectiveness_period_line,
    experiment_heading,
    fund_use_tables,
    funnel,
    headline,
    heat_rows,
    kpi_table,
    mob_names,
    period_line,
    programme_table,
    provision_line,
    recovery_tables,
    review_table,
    stage_table,
    summary,
)
from postloan_reporting.render.i18n import amount, label, pct
from postloan_reporting.service.management import Management

FONT = "NotoSansSC"
FONT_FILE = Path(__file__).resolve().parent.parent / "fonts" / "NotoSansSC-Subset.ttf"
LINE_COLOURS = (
    colors.HexColor("#1f77b4"),
    colors.HexColor("#d62728"),
    colors.HexColor("#2ca02c"),
    colors.HexColor("#ff7f0e"),
    colors.HexColor("#9467bd"),
    colors.HexColor("#8c564b"),
)


def _font() -> str:
    # Registered on first render, not at import; reportlab embeds only the glyphs a PDF uses.
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE)))
    return FONT


def _drawing(width: float, height: float) -> Drawing:
    drawing = Drawing(width, height)
    drawing.initialFontName = _font()  # the renderer's default state would set a non-embedded Helvetica
    return drawing


def _table(rows: list[list[str]]) -> Table:
    table = Table(rows, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
            ]
        )
    )
    return table


def _legend(drawing: Drawing, names: list[str], y: float) -> None:
    step = min(110, (drawing.width - 50) / max(len(names), 1))  # six vintages fit the width too
    for index, name in enumerate(names):
        drawing.add(String(40 + index * step, y, name, fontName=FONT, fontSize=8, fillColor=LINE_COLOURS[index % 6]))


def _no_data(drawing: Drawing, title: str, lang: str) -> Drawing:
    """The chart's title and a "no data" note instead of an empty ±0.01 axis."""
    drawing.add(String(40, drawing.height - 12, title, fontName=FONT, fontSize=10))
    drawing.add(String(40, drawing.height / 2, label("no_data", lang), fontName=FONT, fontSize=9))
    return drawing


def _line_chart(
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]], title: str, lang: str, *, x_names: Sequence[str]
) -> Drawing:
    """Lines over integer steps of x, each step labelled with its entry of `x_names` (months)."""
    drawing = _drawing(170 * mm, 65 * mm)
    data = [list(points) for _, points in series if points]
    if not data:
        return _no_data(drawing, title, lang)
    plot = LinePlot()
    plot.x, plot.y, plot.width, plot.height = 40, 25, 170 * mm - 60, 65 * mm - 55
    plot.data = data
    for index in range(len(plot.data)):
        plot.lines[index].strokeColor = LINE_COLOURS[index % 6]
        plot.lines[index].strokeWidth = 1.5
    plot.xValueAxis.labels.fontName = plot.yValueAxis.labels.fontName = FONT
    plot.xValueAxis.labels.fontSize = 7
    plot.xValueAxis.valueMin, plot.xValueAxis.valueMax = 0, max(len(x_names) - 1, 1)
    plot.xValueAxis.valueSteps = list(range(len(x_names)))
    plot.xValueAxis.labelTextFormat = lambda v: x_names[int(v)] if 0 <= int(v) < len(x_names) else ""
    plot.yValueAxis.labelTextFormat = "%.1f%%"
    drawing.add(plot)
    drawing.add(String(40, 65 * mm - 12, title, fontName=FONT, fontSize=10))
    _legend(drawing, [name for name, points in series if points], 65 * mm - 24)
    return drawing


def _bar_chart(
    chart: VerticalBarChart | HorizontalBarChart,
    *,
    height: float,
    plot: tuple[float, float, float, float],
    values: list[float],
    names: list[str],
    colour: colors.Color,
    title: tuple[float, str],
    lang: str,
) -> Drawing:
    """One series of bars in a drawing 170 mm wide: `plot` is (x, y, width, height), `title` (x, text) tops it."""
    drawing = _drawing(170 * mm, height)
    if not any(values):
        return _no_data(drawing, title[1], lang)
    chart.x, chart.y, chart.width, chart.height = plot
    chart.data = [values]
    chart.categoryAxis.categoryNames = names
    chart.categoryAxis.labels.fontName = chart.valueAxis.labels.fontName = FONT
    chart.bars[0].fillColor = colour
    drawing.add(chart)
    drawing.add(String(title[0], height - 12, title[1], fontName=FONT, fontSize=10))
    return drawing


def _aging_chart(report: Management, lang: str) -> Drawing:
    buckets = report.portfolio.by_bucket
    return _bar_chart(
        VerticalBarChart(),
        height=60 * mm,
        plot=(50, 25, 170 * mm - 70, 60 * mm - 45),
        values=[float(s.balance) for s in buckets],
        names=[s.key for s in buckets],
        colour=LINE_COLOURS[0],
        title=(50, label("aging", lang)),
        lang=lang,
    )


def _heat_map(report: Management, lang: str) -> Drawing:
    names = columns(lang)
    rows = heat_rows(report)
    cell_w, cell_h = 16 * mm, 6 * mm
    drawing = _drawing(cell_w * (len(names) + 1) + 10, cell_h * (len(rows) + 2) + 10)
    top = cell_h * (len(rows) + 1)
    drawing.add(String(0, top + cell_h - 2, label("roll_rates", lang), fontName=FONT, fontSize=10))
    for j, name in enumerate(names):
        drawing.add(String(cell_w * (j + 1) + 2, top + 2, name, fontName=FONT, fontSize=7))
    for i, (name, rates) in enumerate(rows):
        y = top - cell_h * (i + 1)
        drawing.add(String(2, y + 2, name, fontName=FONT, fontSize=7))
        for j, rate in enumerate(rates):
            shade = 1 - (rate or 0) * 0.8
            drawing.add(
                Rect(cell_w * (j + 1), y, cell_w, cell_h, fillColor=colors.Color(1, shade, shade), strokeWidth=0.2)
            )
            text = "–" if rate is None else f"{rate * 100:.1f}%"
            drawing.add(String(cell_w * (j + 1) + 2, y + 2, text, fontName=FONT, fontSize=6))
    return drawing


def _funnel_chart(report: Management, lang: str) -> Drawing:
    steps = list(reversed(funnel(report, lang)))  # no activity at all (no collectors) gives the no-data note
    return _bar_chart(
        HorizontalBarChart(),
        height=55 * mm,
        plot=(90, 10, 170 * mm - 110, 55 * mm - 30),
        values=[float(count) for _, count in steps],
        names=[name for name, _ in steps],
        colour=LINE_COLOURS[2],
        title=(10, label("collections", lang)),
        lang=lang,
    )


def _fund_use_chart(report: Management, lang: str) -> Drawing:
    rules = list(reversed(report.fund_use.by_rule))  # no open flag at all gives the no-data note
    chart = HorizontalBarChart()
    top = max((s.open_flags for s in rules), default=0)
    chart.valueAxis.valueMin, chart.valueAxis.valueStep = 0, max(1, -(-top // 5))  # counts: whole steps
    return _bar_chart(
        chart,
        height=45 * mm,
        plot=(125, 10, 170 * mm - 145, 45 * mm - 30),
        values=[float(s.open_flags) for s in rules],
        names=[label(s.key, lang) for s in rules],
        colour=LINE_COLOURS[1],
        title=(10, label("open_flags", lang)),
        lang=lang,
    )


def _recovery_sections(report: Management, lang: str, heading: ParagraphStyle, body: ParagraphStyle) -> list[Flowable]:
    """Recoveries after write-off by product, branch and cohort, the agencies, and the fund-use flags."""
    story: list[Flowable] = [Paragraph(label("recoveries", lang), heading), Paragraph(period_line(report, lang), body)]
    for key, rows in recovery_tables(report, lang):
        story += [Paragraph(label(key, lang), body), _table(rows), Spacer(1, 2 * mm)]
    story += [Paragraph(label("agencies", lang), body), _table(agency_table(report, lang))]
    story += [Paragraph(label("fund_use", lang), heading), _fund_use_chart(report, lang), Spacer(1, 3 * mm)]
    for key, rows in fund_use_tables(report, lang):
        story += [Paragraph(label(key, lang), body), _table(rows), Spacer(1, 2 * mm)]
    story.append(Paragraph(escape(label("fund_use_note", lang)), body))
    return story


def _effectiveness_section(
    report: Management, lang: str, heading: ParagraphStyle, body: ParagraphStyle
) -> list[Flowable]:
    """The programme view of the month's bookings, then each experiment's arms (or one line: none)."""
    story: list[Flowable] = [
        Paragraph(label("effectiveness", lang), heading),
        Paragraph(escape(effectiveness_period_line(report, lang)), body),
        Paragraph(escape(label("programme", lang)), body),
        _table(programme_table(report, lang)),
        Paragraph(escape(default_rule_line(report, lang)), body),
        Spacer(1, 2 * mm),
    ]
    experiments = report.effectiveness.experiments
    if not experiments:
        return [*story, Paragraph(escape(label("no_experiment", lang)), body)]
    for experiment in experiments:
        story += [Paragraph(escape(experiment_heading(experiment, lang)), body), _table(arm_table(experiment, lang))]
        story.append(Spacer(1, 2 * mm))
    return [*story, Paragraph(escape(label("effectiveness_note", lang)), body)]


def _risk_sections(report: Management, lang: str, heading: ParagraphStyle, body: ParagraphStyle) -> list[Flowable]:
    """By product and branch, the ECL and stage mix with provision coverage, and the reviews."""
    book = report.portfolio
    return [
        Paragraph(label("by_product", lang), heading),
        _table(kpi_table("product", book.by_product, lang)),
        Paragraph(label("by_branch", lang), heading),
        _table(kpi_table("branch", book.by_branch, lang)),
        Paragraph(label("provisions", lang), heading),
        _table(stage_table(report, lang)),
        Paragraph(escape(provision_line(report, lang)), body),
        Paragraph(escape(collateral_line(report, lang)), body),
        Paragraph(label("reviews", lang), heading),
        _table(review_table(report, lang)),
    ]


def render_pdf(report: Management, lang: str) -> bytes:
    """The PDF document."""
    font = _font()
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22)
    heading = ParagraphStyle("heading", fontName=font, fontSize=12, leading=18, spaceBefore=6)
    body = ParagraphStyle("body", fontName=font, fontSize=8, leading=11)
    trend = [
        (label("overdue_rate", lang), [(i, float(p.kpis.overdue_rate or 0) * 100) for i, p in enumerate(report.trend)]),
        (label("npl_ratio", lang), [(i, float(p.kpis.npl_ratio or 0) * 100) for i, p in enumerate(report.trend)]),
    ]
    vintage = [
        (c.vintage.strftime("%Y-%m"), [(p.mob, float(p.share_30 or 0) * 100) for p in c.points])
        for c in report.vintage[-6:]
    ]
    cei = report.collections.cei
    story = [
        Paragraph(label("title", lang), title),
        Paragraph(
            f"{label('as_of', lang)}: {report.as_of.isoformat()}  {label('previous', lang)}: "
            f"{report.previous.isoformat()}",
            body,
        ),
        Paragraph(label("summary", lang), heading),
        *(Paragraph(f"• {escape(line)}", body) for line in summary(report, lang)),
        Paragraph(label("headline", lang), heading),
        _table([["", label("as_of", lang), label("previous", lang), label("change", lang)], *headline(report, lang)]),
        Spacer(1, 4 * mm),
        _line_chart(trend, label("trend", lang), lang, x_names=[p.day.strftime("%Y-%m") for p in report.trend]),
        _table(
            [[label("date", lang), label("overdue_rate", lang), label("npl_ratio", lang), label("par30", lang)]]
            + [
                [p.day.isoformat(), pct(p.kpis.overdue_rate), pct(p.kpis.npl_ratio), pct(p.kpis.par30)]
                for p in report.trend
            ]
        ),
        _aging_chart(report, lang),
        _table(
            [[label("bucket", lang), label("loans", lang), label("balance", lang), label("share", lang)]]
            + [[s.key, str(s.loans), amount(s.balance), pct(s.share)] for s in report.portfolio.by_bucket]
        ),
        Paragraph(label("classification", lang), heading),
        _table(
            [["", label("loans", lang), label("balance", lang), label("share", lang)]]
            + [
                [label(s.key, lang), str(s.loans), amount(s.balance), pct(s.share)]
                for s in report.portfolio.by_classification
            ]
        ),
        *_risk_sections(report, lang, heading, body),
        Spacer(1, 4 * mm),
        _heat_map(report, lang),
        Spacer(1, 4 * mm),
        _line_chart(vintage, f"{label('vintage', lang)} · {label('mob', lang)}", lang, x_names=mob_names(report)),
        _funnel_chart(report, lang),
        Paragraph(f"{label('cei', lang)}: {pct(None if cei.cei is None else cei.cei / 100)}", body),
        Paragraph(escape(label("cei_variant", lang)), body),
        *_recovery_sections(report, lang, heading, body),
        *_effectiveness_section(report, lang, heading, body),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=label("title", lang),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        initialFontName=font,  # else each page's preamble names a non-embedded Helvetica
        initialFontSize=8,
    )
    document.build(story)
    return buffer.getvalue()
