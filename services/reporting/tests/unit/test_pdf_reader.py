"""The management PDF as a reader's viewer shows it: embedded fonts, Chinese text, a visible title
(issue 17 item 4). Poppler's pdffonts/pdftotext/pdftoppm stand in for a viewer without Adobe's
Asian font pack, where a non-embedded CJK font prints nothing."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from reportlab.lib.units import mm
from reportlab.pdfbase.ttfonts import TTFont

from postloan_reporting.domain import collections as col
from postloan_reporting.domain.collections import CEI_VARIANT
from postloan_reporting.domain.effectiveness import proportion
from postloan_reporting.domain.fund_use import FUND_USE_RULES, FundFlag, fund_use_slice, fund_use_slices
from postloan_reporting.domain.kpis import AggRow, kpis, portfolio
from postloan_reporting.domain.provisions import StageRow, provisions
from postloan_reporting.domain.recoveries import (
    AgencyRow,
    WrittenOff,
    cohort_of,
    recovery_slice,
    recovery_slices,
)
from postloan_reporting.domain.reviews import ReviewCounts, review_slice, review_total
from postloan_reporting.domain.roll_rates import Migration, matrix
from postloan_reporting.domain.summary import NewNpl, executive_summary, segment_roll
from postloan_reporting.domain.vintage import Observation, curves
from postloan_reporting.render.i18n import COLUMNS_ZH, LABELS, SENTENCES, SHEETS
from postloan_reporting.render.pdf import FONT_FILE, render_pdf
from postloan_reporting.service.effectiveness import (
    ArmReport,
    Cohort,
    ExperimentArms,
    MonthEffectiveness,
    ProgrammeView,
)
from postloan_reporting.service.fund_use import FundUseReport
from postloan_reporting.service.management import Management, TrendPoint
from postloan_reporting.service.recoveries import RecoveriesReport
from postloan_reporting.service.reports import CollectionsReport, Filters, RiskReport

POPPLER = ("pdffonts", "pdftotext", "pdftoppm")
needs_poppler = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in POPPLER),
    reason="poppler-utils (pdffonts, pdftotext, pdftoppm) not installed: apt-get install -y poppler-utils",
)
AS_OF = date(2026, 3, 31)


def _recoveries() -> RecoveriesReport:
    rows = [
        WrittenOff("consumer", "north", date(2026, 3, 10), 2, D("5000.00"), D("1250.00")),
        WrittenOff("consumer", "south", date(2026, 3, 20), 1, D("1000.00"), D("0")),
    ]
    return RecoveriesReport(
        start=date(2026, 3, 1),
        end=AS_OF,
        total=recovery_slice("all", rows),
        by_product=recovery_slices(rows, lambda r: r.product),
        by_branch=recovery_slices(rows, lambda r: r.branch),
        by_cohort=recovery_slices(rows, lambda r: cohort_of(r.written_off_on)),
        agencies=[AgencyRow("AG1", 3, D("1250.00"), D("187.50"))],
    )


def _fund_use() -> FundUseReport:
    flags = [
        FundFlag("fund_flow_back", "L-9", "consumer", "north", date(2026, 3, 3), None, D("8000.00")),
        FundFlag("fund_untraced", "L-9", "consumer", "north", date(2026, 3, 4), None, D("8000.00")),
    ]
    period = {"start": date(2026, 3, 1), "day": AS_OF}
    return FundUseReport(
        as_of=AS_OF,
        since=date(2026, 3, 1),
        total=fund_use_slice("all", flags, **period),
        by_rule=fund_use_slices(flags, lambda f: f.rule_id, keys=FUND_USE_RULES, **period),
        by_product=fund_use_slices(flags, lambda f: f.product, **period),
        by_branch=fund_use_slices(flags, lambda f: f.branch, **period),
    )


def _arm(arm: str, role: str, cured: tuple[int, int], base: tuple[int, int] | None, cost: str, collected: str):
    total, got = D(cost), D(collected)
    return ArmReport(
        arm=arm,
        role=role,
        cases=cured[1] + 2,  # two cases opened too late for their 30-day window to have ended
        mature_cases=cured[1],
        amount_collected=got,
        attempts=[],
        messages=[],
        contact_cost=total,
        collector_hours=D("0"),
        collector_cost=D("0.00"),
        total_cost=total,
        cost_per_yuan_recovered=None if not got else (total / got).quantize(D("0.000001")),
        cases_per_collector_day=None,
        rates={"cure_rate_30d": proportion(*cured, champion=base)},
    )


def _effectiveness() -> MonthEffectiveness:
    """March bookings: 3 of 100 defaulted against 6 of 100 a year before; experiment s1: the champion cured 12 of
    20 mature cases at 10.65 for 700 collected, the challenger `calls` 6 of 20 and collected nothing."""
    programme = ProgrammeView(
        horizon_days=0,
        default_after_dpd=90,
        current=Cohort(date(2026, 3, 1), AS_OF, proportion(3, 100, champion=(6, 100))),
        year_before=Cohort(date(2025, 3, 1), date(2025, 3, 31), proportion(6, 100)),
    )
    arms = [
        _arm("champ", "champion", (12, 20), None, "10.65", "700.00"),
        _arm("calls", "challenger", (6, 20), (12, 20), "4.00", "0.00"),
    ]
    return MonthEffectiveness(date(2026, 3, 1), AS_OF, AS_OF, programme, [ExperimentArms("s1", "champ", arms)])


def _report() -> Management:
    rows = [
        AggRow("consumer", "north", None, 0, 1, 8, D("80000.00"), D("80000.00")),
        AggRow("consumer", "north", None, 2, 3, 2, D("20000.00"), D("21000.00"), D("3000.00")),
    ]
    book = portfolio(rows)
    overall = col.performance(col.Activity("all", attempts=10, connected=6, right_party=4, promises=3, kept=2))
    funnel = [(step, getattr(overall.activity, step)) for step in ("attempts", "connected", "right_party")]
    cohorts = {date(2025, 10, 1): (10, D("100000.00"))}
    observed = [Observation(date(2025, 10, 1), date(2026, m, 28), D(m * 1000), D(0)) for m in (1, 2, 3)]
    collections = CollectionsReport(
        start=date(2026, 3, 1),
        end=AS_OF,
        overall=overall,
        by_agent=[],
        by_queue=[],
        funnel=[*funnel, ("promises", 3), ("kept", 2)],
        cei=col.cei(opening=D(100), billed=D(50), closing_overdue=D(40), closing_current=D(20)),
        reminders=col.reminder_effect([]),
    )
    reviews = [ReviewCounts("north", 4, 3, 2, 1), ReviewCounts("south", 2, 2, 2, 0)]
    risk = RiskReport(
        as_of=AS_OF,
        score_bands=[],
        grades=[],
        open_alerts=[],
        raised_last_30_days=0,
        provisions=provisions(
            [StageRow(1, 8, D("80000"), D("400")), StageRow(3, 2, D("20000"), D("6000"))], npl_balance=D("20000")
        ),
        reviews_since=date(2026, 3, 1),
        reviews=review_total(reviews),
        reviews_by_branch=[review_slice(r) for r in reviews],
    )
    summary = executive_summary(
        now=book.kpis,
        before=kpis(rows[:1]),
        new_npls=[NewNpl("L-7", "consumer", "north", D("20000.00"), 2)],
        segments=[segment_roll("branch", "north", [Migration(0, 3, 2, D("20000")), Migration(0, 0, 8, D("80000"))])],
    )
    return Management(
        as_of=AS_OF,
        previous=date(2026, 2, 28),
        filters=Filters(),
        portfolio=book,
        previous_kpis=kpis(rows[:1]),
        trend=[TrendPoint(date(2026, m, 28), book.kpis) for m in (1, 2, 3)],
        roll_rates=matrix([Migration(0, 0, 7, D("70000")), Migration(0, 1, 1, D("10000"))]),
        vintage=curves(cohorts, observed),
        collections=collections,
        risk=risk,
        summary=summary,
        recoveries=_recoveries(),
        fund_use=_fund_use(),
        effectiveness=_effectiveness(),
    )


def test_every_label_and_the_cei_formula_are_covered_by_the_embedded_font() -> None:
    covered = TTFont("probe", str(FONT_FILE)).face.charToGlyph
    words = [t for table in (LABELS, SENTENCES, SHEETS) for texts in table.values() for t in texts.values()]
    text = "".join(words) + "".join(COLUMNS_ZH.values()) + CEI_VARIANT + "–→−×÷%•、"
    missing = sorted({c for c in text if ord(c) not in covered})
    assert not missing, f"glyphs missing from {FONT_FILE.name}: {missing}"


@needs_poppler
def test_zh_pdf_embeds_its_fonts_and_shows_chinese(tmp_path: Path) -> None:
    pdf = tmp_path / "management.pdf"
    pdf.write_bytes(render_pdf(_report(), "zh-CN"))
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    listed = fonts.splitlines()[2:]
    assert listed, fonts
    # Columns: name type encoding emb sub uni object-id; "emb" must be "yes" for every font.
    assert all(line.split()[-5] == "yes" for line in listed), fonts
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for heading in ("贷后管理经营报告", "核心指标", "五级分类", "迁徙率矩阵", "催收漏斗"):
        assert heading in text, heading


def _dark_pixels(pgm: bytes, box: tuple[int, int, int, int]) -> int:
    """Pixels darker than mid-grey inside (x0, y0, x1, y1) of a binary PGM (P5) image."""
    magic, width, _height, _max, data = pgm.split(maxsplit=4)
    assert magic == b"P5"
    x0, y0, x1, y1 = box
    w = int(width)
    return sum(1 for y in range(y0, y1) for x in range(x0, x1) if data[y * w + x] < 128)


@needs_poppler
def test_zh_title_is_not_blank_on_the_rendered_page(tmp_path: Path) -> None:
    pdf = tmp_path / "management.pdf"
    pdf.write_bytes(render_pdf(_report(), "zh-CN"))
    out = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "72", "-f", "1", "-l", "1", "-gray", str(pdf), str(out)], check=True)
    [page] = list(tmp_path.glob("page*.pgm"))
    margin = round(15 * mm)  # at 72 dpi one pixel is one point; the title sits at the top-left margin
    title_box = (margin, margin, margin + 8 * 16, margin + 22)  # 8 characters of 16 pt, 22 pt leading
    assert _dark_pixels(page.read_bytes(), title_box) > 300  # tofu boxes of a missing font give ~100, the glyphs ~600
    blank_box = (margin + 8 * 16 + 20, margin, margin + 8 * 16 + 120, margin + 22)
    assert _dark_pixels(page.read_bytes(), blank_box) < 5
