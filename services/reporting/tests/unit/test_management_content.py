"""The management report's sections in every format: summary, KPIs by product and branch, ECL and
stage mix with provision coverage, reviews; the workbook's native charts and localized sheet names."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

from openpyxl import load_workbook

from postloan_reporting.render.html import render_html
from postloan_reporting.render.pdf import render_pdf
from postloan_reporting.render.xlsx import SHEETS, render_xlsx

from .test_pdf_reader import _report, needs_poppler

ZH_SECTIONS = (
    "摘要",
    "分产品指标",
    "分机构指标",
    "预期信用损失与 IFRS 9 阶段分布",
    "拨备覆盖率",
    "贷后检查",
    "核销后回收（按核销月）",
    "委外催收机构与佣金",
    "资金流向预警（按规则）",
    "资金回流",
)
EN_SECTIONS = (
    "Summary",
    "KPIs by product",
    "KPIs by branch",
    "ECL and IFRS 9 stage mix",
    "Provision coverage",
    "Recoveries by write-off cohort",
    "Collection agencies and commission",
    "Fund-use flags by rule",
)
# Latin words a Chinese report may print: codes, the book's own names and ids, formula terms.
LATIN_ALLOWED = {"IFRS", "PAR30", "Vintage", "CEI", "ECL", "consumer", "north", "south"}


def test_html_has_every_section_in_both_languages() -> None:
    zh = render_html(_report(), "zh-CN")
    for heading in ZH_SECTIONS:
        assert heading in zh, heading
    assert "拨备覆盖率: 32.00% = 预期信用损失 6,400.00 ÷ 不良贷款余额 20,000.00" in zh
    assert "L-7（consumer/north，次级，20,000.00）" in zh
    en = render_html(_report(), "en")
    for heading in (*EN_SECTIONS, "Post-loan reviews", "Completion rate"):
        assert heading in en, heading
    assert "<td>Stage 3</td><td>2</td><td>20,000.00</td><td>20.00%</td><td>6,000.00</td><td>30.00%</td>" in en
    assert "<td>north</td><td>4</td><td>3</td><td>2</td><td>1</td><td>75.00%</td>" in en
    # recoveries: north 1,250 of 5,000 (25 %), south nothing back; the agency's 15 % of 1,250
    assert "<td>north</td><td>2</td><td>5,000.00</td><td>1,250.00</td><td>25.00%</td>" in en
    assert "<td>2026-03</td><td>3</td><td>6,000.00</td><td>1,250.00</td><td>20.83%</td>" in en
    assert "<td>AG1</td><td>3</td><td>1,250.00</td><td>187.50</td>" in en
    # fund use: one loan with two open flags counts once in the total, its outstanding once too
    assert "<td>Flow back to the borrower</td><td>1</td><td>1</td><td>8,000.00</td><td>1</td><td>0</td>" in en
    assert "<td>All</td><td>2</td><td>1</td><td>8,000.00</td><td>2</td><td>0</td>" in en


@needs_poppler
def test_the_chinese_pdf_has_the_new_sections_and_no_english_prose(tmp_path: Path) -> None:
    pdf = tmp_path / "management.pdf"
    pdf.write_bytes(render_pdf(_report(), "zh-CN"))
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    squeezed = re.sub(r"\s+", "", text)
    for heading in (*ZH_SECTIONS, "迁徙最差的是机构north"):
        assert re.sub(r"\s+", "", heading) in squeezed, heading
    english = {w for w in re.findall(r"[A-Za-z]{3,}[0-9]*", text)} - LATIN_ALLOWED
    assert not english, english  # the CEI explanation, "pp" and every label are Chinese too


def test_the_workbook_has_native_charts_and_sheet_names_in_the_report_language() -> None:
    en = load_workbook(io.BytesIO(render_xlsx(_report(), "en")))
    assert en.sheetnames == list(SHEETS)
    assert [type(c).__name__ for c in en["Aging"]._charts] == ["BarChart"]
    assert [type(c).__name__ for c in en["Trend"]._charts] == ["LineChart"]
    assert list(en["Provisions"].iter_rows(values_only=True))[-1][-1] == 0.32  # provision coverage, a number
    zh = load_workbook(io.BytesIO(render_xlsx(_report(), "zh-CN")))
    assert zh.sheetnames[:4] == ["摘要", "趋势", "账龄分布", "五级分类"] and "贷后检查" in zh.sheetnames
    assert next(zh["账龄分布"].iter_rows(values_only=True)) == ("逾期档", "贷款笔数", "余额", "占比")
    assert len(zh["账龄分布"]._charts) == 1 and len(zh["趋势"]._charts) == 1
    summary = [row[0] for row in zh["摘要"].iter_rows(values_only=True) if row and row[0]]
    assert "拨备覆盖率" in summary and any(str(line).startswith("较上月末变动最大的指标") for line in summary)
    recoveries = list(zh["核销后回收"].iter_rows(values_only=True))
    assert recoveries[0] == ("维度", "项目", "贷款笔数", "核销金额", "回收金额", "回收率")
    assert recoveries[1][:2] == ("合计", "all") and recoveries[-1][:2] == ("核销月", "2026-03")
    assert list(en["Agencies"].iter_rows(values_only=True))[1] == ("AG1", 3, 1250, 187.5)
    rules = [row[1] for row in zh["资金流向"].iter_rows(values_only=True) if row[0] == "规则"]
    assert rules == ["挪用于禁止用途", "资金回流", "资金去向不明", "拆分交易"]
