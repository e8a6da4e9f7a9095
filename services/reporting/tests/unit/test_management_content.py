"""The management report's sections in every format: summary, KPIs by product and branch, ECL and
stage mix with provision coverage, reviews; the workbook's native charts and localized sheet names."""

from __future__ import annotations

import dataclasses
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
    "催收策略成效",
    "整体成效：一年前同月放款与两年前同月放款的违约率",
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
    "Programme effectiveness",
)
# Latin words a Chinese report may print: codes, the book's own names and ids, formula terms.
LATIN_ALLOWED = {"IFRS", "PAR30", "Vintage", "CEI", "ECL", "consumer", "north", "south", "champ", "calls"}


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


# The programme-effectiveness section of _report(): 3 of 100 March bookings defaulted against 6 of 100 a year
# before (pooled 0.045, z = 1.0233, p = 0.3062); experiment s1's champion cured 12 of 20 mature cases (Wilson
# 38.66–78.12 %) at 10.65 for 700.00 (0.0152 a yuan), the challenger 6 of 20 (14.55–51.90 %), −30 pp, pooled
# 0.45, z = −1.9069, p = 0.0565, and collected nothing (no cost per yuan).
EN_PROGRAMME = (
    "<td>A year before</td><td>2026-03-01 – 2026-03-31</td><td>100</td><td>3</td><td>3.00%</td><td>-3.00 pp</td>"
    "<td>0.3062</td>"
)
EN_ARMS = (
    "<td>champ</td><td>Champion</td><td>22</td><td>20</td><td>60.00% [38.66%, 78.12%]</td><td>–</td><td>–</td>"
    "<td>0.0152</td>",
    "<td>calls</td><td>Challenger</td><td>22</td><td>20</td><td>30.00% [14.55%, 51.90%]</td><td>-30.00 pp</td>"
    "<td>0.0565</td><td>–</td>",
)


def _without_experiments():
    report = _report()
    return dataclasses.replace(report, effectiveness=dataclasses.replace(report.effectiveness, experiments=[]))


def test_the_effectiveness_section_has_the_programme_view_and_each_arm_against_the_champion() -> None:
    en = render_html(_report(), "en")
    assert EN_PROGRAMME in en
    assert "<td>Two years before</td><td>2025-03-01 – 2025-03-31</td><td>100</td><td>6</td><td>6.00%</td>" in en
    assert "Experiment s1 · Champion: champ" in en and all(row in en for row in EN_ARMS)
    assert "Default: more than 90 days past due within 0 days of booking" in en
    assert "No strategy experiment" not in en
    zh = render_html(_report(), "zh-CN")
    assert "<td>calls</td><td>挑战组</td><td>22</td><td>20</td><td>30.00% [14.55%, 51.90%]</td>" in zh
    assert "<td>-30.00个百分点</td><td>0.0565</td>" in zh and "策略实验 s1 · 冠军组: champ" in zh


def test_without_an_experiment_the_section_says_so_in_one_line_and_draws_no_arm_table() -> None:
    en = render_html(_without_experiments(), "en")
    assert en.count("No strategy experiment had cases opened this month.") == 1
    assert EN_PROGRAMME in en and "Cure rate (30 d)" not in en and "Experiment s1" not in en
    zh = load_workbook(io.BytesIO(render_xlsx(_without_experiments(), "zh-CN")))["策略成效"]
    last = list(zh.iter_rows(values_only=True))[-1]
    assert last[0] == "本月无策略实验案件。" and not any(last[1:])


@needs_poppler
def test_the_pdf_shows_the_effectiveness_figures_or_the_no_experiment_line(tmp_path: Path) -> None:
    def text_of(report, lang: str) -> str:
        pdf = tmp_path / f"management-{lang}.pdf"
        pdf.write_bytes(render_pdf(report, lang))
        out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        return re.sub(r"\s+", "", out)

    zh = text_of(_report(), "zh-CN")
    for figure in ("策略实验s1·冠军组:champ", "60.00%[38.66%,78.12%]", "30.00%[14.55%,51.90%]", "0.0565", "0.0152"):
        assert figure in zh, figure
    assert "-30.00个百分点" in zh and "0.3062" in zh and "两年前同月放款" in zh
    assert "本月无策略实验案件" in text_of(_without_experiments(), "zh-CN")
    assert "Nostrategyexperiment" in text_of(_without_experiments(), "en")


def test_the_effectiveness_sheet_has_the_figures_as_numbers() -> None:
    en = load_workbook(io.BytesIO(render_xlsx(_report(), "en")))["Effectiveness"]
    rows = list(en.iter_rows(values_only=True))
    assert rows[1][:9] == (
        "cohort",
        "start",
        "end",
        "horizon_days",
        "loans",
        "defaulted",
        "default_rate",
        "difference",
        "p_value",
    )
    assert rows[2][:2] == ("current", "2026-03-01") and rows[2][4:7] == (100, 3, 0.03)
    assert rows[2][7] == -0.03 and round(rows[2][8], 4) == 0.3062
    arms = {row[1]: row for row in rows if row[0] == "s1"}
    assert arms["calls"][2:8] == ("challenger", 22, 20, 0.3, 0.145477, 0.518973)
    assert arms["calls"][8] == -0.3 and round(arms["calls"][9], 4) == 0.0565 and arms["calls"][12] is None
    assert arms["champ"][10:13] == (10.65, 700, 0.015214)
    zh = load_workbook(io.BytesIO(render_xlsx(_report(), "zh-CN")))
    assert zh.sheetnames[-1] == "策略成效"
    zh_rows = list(zh["策略成效"].iter_rows(values_only=True))
    assert zh_rows[1][:3] == ("放款批次", "起始日", "截止日") and zh_rows[2][0] == "一年前同月放款"
    assert [row[2] for row in zh_rows if row[0] == "s1"] == ["冠军组", "挑战组"]
