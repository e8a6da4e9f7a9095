"""The management PDF's charts: months on time axes, "no data" rather than an empty axis (issue 17 item 4)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgetbase import Widget

from postloan_reporting.render import pdf
from postloan_reporting.render.content import mob_names

from .test_pdf_reader import _report


def _texts(node: object) -> Iterator[str]:
    """Every string a drawing paints, widgets (axes, bars) expanded as the renderer does."""
    if isinstance(node, String):
        yield node.text
    elif isinstance(node, Widget):
        yield from _texts(node.draw())
    for child in getattr(node, "contents", ()):
        yield from _texts(child)


def _trend(report: pdf.Management, lang: str) -> Drawing:
    series = [("x", [(i, 1.0 + i) for i in range(len(report.trend))])]
    return pdf._line_chart(series, "t", lang, x_names=[p.day.strftime("%Y-%m") for p in report.trend])


def test_trend_axis_is_labelled_with_months_not_indices() -> None:
    texts = list(_texts(_trend(_report(), "en")))
    assert {"2026-01", "2026-02", "2026-03"} <= set(texts)
    assert not {"0", "1", "2"} & set(texts)


def test_vintage_axis_counts_months_on_book() -> None:
    assert mob_names(_report()) == ["M0", "M1", "M2", "M3", "M4", "M5"]


def test_a_book_without_collector_activity_says_no_data() -> None:
    report = _report()
    idle = dataclasses.replace(report.collections, funnel=[(step, 0) for step, _ in report.collections.funnel])
    texts = list(_texts(pdf._funnel_chart(dataclasses.replace(report, collections=idle), "zh-CN")))
    assert "暂无数据" in texts
    assert not any(t.startswith("-0.0") or t == "0.01" for t in texts)  # no ±0.01 axis drawn
    assert "暂无数据" not in list(_texts(pdf._funnel_chart(report, "zh-CN")))


def test_a_line_chart_without_points_says_no_data() -> None:
    texts = list(_texts(pdf._line_chart([("x", [])], "t", "en", x_names=[])))
    assert "No data" in texts
