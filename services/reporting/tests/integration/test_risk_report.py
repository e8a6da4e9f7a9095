"""The risk report's ECL, IFRS 9 stage mix, provision coverage and reviews, on the four-loan book of
test_scenario (B1: L1 3,000 + L3 5,000 substandard; B2: L2 2,000 + L4 1,000 closed 15 Mar).

ECL: L3 100 (stage 3, 10 Feb), L1 30 and L4 10 (stage 1, 10 Feb), L2 200 (stage 2, 8 Mar).
Secured values: L3 3,000 (10 Feb), then 6,000 (12 Mar: more than its 5,000); L1 2,000 (10 Feb, performing).
Reviews: RV1 L1 due 10 Mar done 9 Mar · RV2 L3 due 20 Mar done 25 Mar (late; its completion arrives
first) · RV3 L2 due 15 Mar never done · RV4 L4 due 20 Mar, cancelled with the loan · RV5 L1 due
15 Apr · RV6 L2 due 20 Feb never done.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook

from postloan_common.contracts import risk
from postloan_reporting.service import reports
from postloan_reporting.service.reports import Filters

from .test_scenario import classified, ev, february, feed, march, read

pytestmark = pytest.mark.integration


def _due(review: str, loan: str, due_on: str, day: str, kind: str = "routine"):
    data = risk.ReviewDueV1(
        review_id=review,
        loan_id=loan,
        customer_id=f"C-{loan}",
        kind=kind,
        reason="routine_normal",
        due_on=date.fromisoformat(due_on),
    )
    return ev(data, day, "risk-alert")


def _overdue(review: str, loan: str, due_on: str, day: str, kind: str = "routine"):
    data = risk.ReviewOverdueV1(
        review_id=review, loan_id=loan, customer_id=f"C-{loan}", kind=kind, due_on=date.fromisoformat(due_on)
    )
    return ev(data, day, "risk-alert")


def _done(review: str, loan: str, on: str, kind: str = "routine"):
    data = risk.ReviewCompletedV1(
        review_id=review,
        loan_id=loan,
        customer_id=f"C-{loan}",
        kind=kind,
        completed_on=date.fromisoformat(on),
        completed_by="rm-1",
        worst_finding="ok",
        recommendation="maintain",
    )
    return ev(data, on, "risk-alert")


def _secured(loan: str, value: str, day: str):
    data = risk.CollateralCoverageChangedV1(
        loan_id=loan, customer_id=f"C-{loan}", secured_value=D(value), currency="CNY"
    )
    return ev(data, day, "risk-alert")


def _ecl_and_reviews() -> tuple[list, list]:
    """Events before the February close, and March's (before its close)."""
    feb = [
        ev(classified("L1", "normal", 1, ecl="30.00", dpd=0, reason="dpd_floor"), "2026-02-10", "risk-alert"),
        ev(classified("L4", "normal", 1, ecl="10.00", dpd=0, reason="dpd_floor"), "2026-02-10", "risk-alert"),
        _due("RV6", "L2", "2026-02-20", "2026-02-06"),
        _overdue("RV6", "L2", "2026-02-20", "2026-02-21"),
        _secured("L3", "3000.00", "2026-02-10"),
        _secured("L1", "2000.00", "2026-02-10"),
    ]
    mar = [
        _due("RV1", "L1", "2026-03-10", "2026-03-01"),
        _done("RV1", "L1", "2026-03-09"),
        _due("RV3", "L2", "2026-03-15", "2026-03-01", kind="first"),
        _overdue("RV3", "L2", "2026-03-15", "2026-03-16", kind="first"),
        _due("RV4", "L4", "2026-03-20", "2026-03-01"),
        ev(
            classified("L2", "special_mention", 2, ecl="200.00", dpd=31, reason="dpd_floor"), "2026-03-08", "risk-alert"
        ),
        _due("RV5", "L1", "2026-04-15", "2026-03-31"),
        _secured("L3", "6000.00", "2026-03-12"),
    ]
    return feb, mar


async def _book(url: str) -> None:
    feb, mar = _ecl_and_reviews()
    events = february()
    await feed(url, events[:-2] + feb + events[-2:])
    # RV2's completion is taken in before its schedule: each event sets only what it knows.
    await feed(url, [_done("RV2", "L3", "2026-03-25", kind="triggered")])
    await feed(url, [_due("RV2", "L3", "2026-03-20", "2026-03-05", kind="triggered")])
    await feed(url, [_overdue("RV2", "L3", "2026-03-20", "2026-03-21", kind="triggered")])
    closing = march()
    await feed(url, closing[:-2] + mar + closing[-2:])


async def _risk(url: str, day: str, **filters):
    as_of = date.fromisoformat(day)
    return await read(url, lambda session: reports.risk_report(session, as_of=as_of, filters=Filters(**filters)))


@pytest.fixture
async def book_url(migrated_database) -> str:
    """The database URL of the book with its ECL and reviews taken in."""
    url = await migrated_database("postloan_reporting")
    await _book(url)
    return url


def _figures(slices) -> dict[str, tuple]:
    return {s.branch: (s.due, s.completed, s.on_time, s.overdue) for s in slices}


async def test_stage_mix_and_provision_coverage_follow_the_latest_ecl_of_the_loans_alive(book_url) -> None:

    feb = (await _risk(book_url, "2026-02-28")).provisions
    # L2 not classified yet: stage 1 without ECL
    assert [(s.stage, s.loans, s.exposure, s.ecl) for s in feb.stages] == [
        (1, 3, D("6000.00"), D("40.00")),
        (2, 0, D("0.00"), D("0.00")),
        (3, 1, D("5000.00"), D("100.00")),
    ]
    assert (feb.ecl, feb.npl_balance, feb.provision_coverage) == (D("140.00"), D("5000.00"), D("0.028000"))

    mar = (await _risk(book_url, "2026-03-31")).provisions  # L4 closed: its ECL is gone
    assert [(s.stage, s.loans, s.ecl) for s in mar.stages] == [
        (1, 1, D("30.00")),
        (2, 1, D("200.00")),
        (3, 1, D("100.00")),
    ]
    assert (mar.ecl, mar.provision_coverage) == (D("330.00"), D("0.066000"))

    b2 = (await _risk(book_url, "2026-03-31", branch="B2")).provisions  # no NPL in B2: coverage undefined
    assert (b2.ecl, b2.npl_balance, b2.provision_coverage) == (D("200.00"), D("0.00"), None)


async def test_npl_collateral_coverage_takes_each_npl_loans_latest_secured_value_capped_at_its_balance(
    book_url,
) -> None:
    # 28 Feb: L3 (the only NPL, 5,000) secured 3,000 → 3,000 ÷ 5,000; L1's 2,000 is not an NPL's.
    feb = (await _risk(book_url, "2026-02-28")).provisions
    assert (feb.npl_secured, feb.npl_balance, feb.npl_collateral_coverage) == (
        D("3000.00"),
        D("5000.00"),
        D("0.600000"),
    )
    # 11 Mar: the 12 Mar value is not in force yet.
    assert (await _risk(book_url, "2026-03-11")).provisions.npl_collateral_coverage == D("0.600000")
    # 31 Mar: 6,000 secures L3 in full, counted at its 5,000 outstanding.
    mar = (await _risk(book_url, "2026-03-31")).provisions
    assert (mar.npl_secured, mar.npl_collateral_coverage) == (D("5000.00"), D("1.000000"))
    b2 = (await _risk(book_url, "2026-03-31", branch="B2")).provisions
    assert (b2.npl_secured, b2.npl_collateral_coverage) == (D("0.00"), None)


async def test_reviews_by_branch_count_completion_in_the_month_and_overdue_as_of_the_day(book_url) -> None:

    end = await _risk(book_url, "2026-03-31")
    assert end.reviews_since == date(2026, 3, 1)
    assert _figures(end.reviews_by_branch) == {"B1": (2, 2, 1, 0), "B2": (1, 0, 0, 2)}
    assert (end.reviews.due, end.reviews.completed, end.reviews.overdue) == (3, 2, 2)
    assert end.reviews.completion_rate == D("0.666667") and end.reviews.on_time_rate == D("0.333333")

    mid = await _risk(book_url, "2026-03-20")  # RV2 due today is not overdue yet; RV4 went with L4
    assert _figures(mid.reviews_by_branch) == {"B1": (2, 1, 1, 0), "B2": (1, 0, 0, 2)}
    # nothing of B1 was scheduled by the end of February; RV6 fell due in it and is overdue
    assert _figures((await _risk(book_url, "2026-02-28")).reviews_by_branch) == {"B2": (1, 0, 0, 1)}


async def test_the_risk_report_over_http_carries_provisions_and_reviews(book_url, reporting_api, token) -> None:
    async with reporting_api(book_url) as client:
        body = (await client.get("/v1/reports/risk", headers=token("risk_officer"))).json()
        assert body["provisions"]["provision_coverage"] == "0.066000" and body["provisions"]["ecl"] == "330.00"
        assert (body["provisions"]["npl_secured"], body["provisions"]["npl_collateral_coverage"]) == (
            "5000.00",
            "1.000000",
        )
        assert body["provisions"]["stages"][1] == {
            "stage": 2,
            "loans": 1,
            "exposure": "2000.00",
            "ecl": "200.00",
            "exposure_share": "0.200000",
            "coverage": "0.100000",
        }
        assert body["reviews"]["since"] == "2026-03-01"
        assert body["reviews"]["total"]["completion_rate"] == "0.666667"
        assert [b["branch"] for b in body["reviews"]["by_branch"]] == ["B1", "B2"]
        b2 = (await client.get("/v1/reports/risk?branch=B2", headers=token("analyst"))).json()
        assert b2["provisions"]["provision_coverage"] is None

        exported = await client.get("/v1/reports/risk?format=csv", headers=token("analyst"))
        rows = {(r["kind"], r["key"]): r for r in csv.DictReader(io.StringIO(exported.text))}
        assert rows[("provision_coverage", "all")] | {"count": ""} == {
            "kind": "provision_coverage",
            "key": "all",
            "detail": "",
            "count": "",
            "amount": "5000.00",
            "ecl": "330.00",
            "rate": "0.066000",
        }
        covered = rows[("npl_collateral_coverage", "all")]
        assert (covered["amount"], covered["rate"]) == ("5000.00", "1.000000")
        assert rows[("stage", "stage_3")]["ecl"] == "100.00" and rows[("review_overdue", "B2")]["count"] == "2"


async def test_the_management_report_summarises_the_month_and_shows_provisions_and_reviews(
    book_url, reporting_api, token
) -> None:
    async with reporting_api(book_url) as client:
        html = (await client.get("/v1/reports/management?format=html&lang=zh-CN", headers=token("analyst"))).text
        # PAR30 0 → 20 % moved most; L3 was NPL already at February's end; B2's 3,000 saw L2's 2,000 roll to M2
        assert "较上月末变动最大的指标是PAR30（逾期30天以上占比）：由 0.00% 变为 20.00%（+20.00个百分点）。" in html
        assert "本期无新增不良贷款。" in html
        assert "迁徙最差的是机构 B2：上月末余额的 66.67%（2,000.00）滚入更差的逾期档。" in html
        assert "拨备覆盖率: 6.60% = 预期信用损失 330.00 ÷ 不良贷款余额 5,000.00" in html
        assert "不良贷款抵押覆盖率: 100.00% = 抵押覆盖的不良贷款余额 5,000.00 ÷ 不良贷款余额 5,000.00" in html
        assert "<td>B2</td><td>1</td><td>0</td><td>0</td><td>2</td><td>0.00%</td>" in html
        workbook = await client.get("/v1/reports/management?format=xlsx&lang=en", headers=token("analyst"))
        book = load_workbook(io.BytesIO(workbook.content))
        summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row}
        assert summary["npl_collateral_coverage"] == D("1.000000")
        reviews = list(book["Reviews"].iter_rows(values_only=True))
        assert reviews[0] == ("branch", "due", "completed", "on_time", "overdue", "completion_rate", "on_time_rate")
        assert reviews[-1][:5] == ("all", 3, 2, 1, 2)
