"""Fund-use flags by rule, product and branch through risk-alert's alerts, worked out by hand.

All disbursed 2026-01-05 · F1 P1/B1 3,000 · F2 P1/B2 2,000 · F3 P2/B1 1,000 (prepaid 15 Mar).
A1 fund_forbidden_use F1 (10 Feb) · A2 fund_flow_back F1 (5 Mar) · A3 fund_untraced F2 (2 Mar,
dismissed 20 Mar) · A4 fund_splitting F3 (3 Mar, open on a closed loan) · A5 a DPD alert on F2
(not fund use) · A6 fund_forbidden_use F2 (2 Apr).
End of 31 Mar: open A1, A2, A4 on F1 and F3, outstanding 3,000 (F3's is 0); in March raised A2,
A3, A4, resolved A3. End of 30 Apr: A6 opens on F2 too: 3 loans, 5,000.
"""

from __future__ import annotations

from datetime import date

import pytest

from postloan_common.contracts import repayment, risk

from .test_scenario import day_closed, ev, feed, registered

pytestmark = pytest.mark.integration

PATH = "/v1/reports/fund-use"


def _raised(alert: str, rule: str, loan: str, day: str) -> object:
    data = risk.RiskAlertRaisedV1(
        alert_id=alert,
        rule_id=rule,
        severity="high",
        subject_type="loan",
        subject_id=loan,
        customer_id=f"C-{loan}",
        message=f"{rule} on {loan}",
    )
    return ev(data, day, "risk-alert")


def book() -> list:
    dismissed = risk.RiskAlertResolvedV1(
        alert_id="A3", rule_id="fund_untraced", subject_type="loan", subject_id="F2", resolution="dismissed"
    )
    closed = repayment.LoanClosedV1(loan_id="F3", customer_id="C-F3", closed_on=date(2026, 3, 15), reason="prepaid")
    return [
        registered("F1", "P1", "B1", "3000.00"),
        registered("F2", "P1", "B2", "2000.00"),
        registered("F3", "P2", "B1", "1000.00"),
        _raised("A1", "fund_forbidden_use", "F1", "2026-02-10"),
        _raised("A3", "fund_untraced", "F2", "2026-03-02"),
        _raised("A4", "fund_splitting", "F3", "2026-03-03"),
        _raised("A2", "fund_flow_back", "F1", "2026-03-05"),
        _raised("A5", "R-DPD", "F2", "2026-03-06"),
        ev(closed, "2026-03-15"),
        ev(dismissed, "2026-03-20", "risk-alert"),
        day_closed("2026-03-31", 0),
        day_closed("2026-03-31", 1),
        _raised("A6", "fund_forbidden_use", "F2", "2026-04-02"),
        day_closed("2026-04-30", 0),
        day_closed("2026-04-30", 1),
    ]


def _slice(key: str, open_: int, loans: int, outstanding: str, raised: int, resolved: int) -> dict[str, object]:
    return {
        "key": key,
        "open_flags": open_,
        "loans_flagged": loans,
        "outstanding_flagged": outstanding,
        "raised": raised,
        "resolved": resolved,
    }


async def test_fund_use_flags_by_rule_product_and_branch(migrated_database, reporting_api, token) -> None:
    url = await migrated_database("postloan_reporting")
    await feed(url, book())
    async with reporting_api(url) as client:
        march = await client.get(PATH, params={"as_of": "2026-03-31"}, headers=token("risk_officer"))
        assert march.status_code == 200, march.text
        assert march.json() == {
            "as_of": "2026-03-31",
            "since": "2026-03-01",
            "filters": {"product": None, "branch": None},
            "total": _slice("all", 3, 2, "3000.00", 3, 1),
            "by_rule": [
                _slice("fund_forbidden_use", 1, 1, "3000.00", 0, 0),
                _slice("fund_flow_back", 1, 1, "3000.00", 1, 0),
                _slice("fund_untraced", 0, 0, "0.00", 1, 1),
                _slice("fund_splitting", 1, 1, "0.00", 1, 0),
            ],
            "by_product": [_slice("P1", 2, 1, "3000.00", 2, 1), _slice("P2", 1, 1, "0.00", 1, 0)],
            "by_branch": [_slice("B1", 3, 2, "3000.00", 2, 0), _slice("B2", 0, 0, "0.00", 1, 1)],
        }
        april = (await client.get(PATH, headers=token("analyst"))).json()
        assert april["as_of"] == "2026-04-30" and april["total"] == _slice("all", 4, 3, "5000.00", 1, 0)
        b2 = (await client.get(PATH, params={"branch": "B2"}, headers=token("analyst"))).json()
        assert b2["total"] == _slice("all", 1, 1, "2000.00", 1, 0)
        assert [s["key"] for s in b2["by_rule"]] == [
            "fund_forbidden_use",
            "fund_flow_back",
            "fund_untraced",
            "fund_splitting",
        ]
        page = await client.get("/v1/reports/management", params={"as_of": "2026-03-31"}, headers=token())
        assert "<td>资金去向不明</td><td>0</td><td>0</td><td>0.00</td><td>1</td><td>1</td>" in page.text
        assert "<td>合计</td><td>3</td><td>2</td><td>3,000.00</td><td>3</td><td>1</td>" in page.text
        table = await client.get(PATH, params={"as_of": "2026-03-31", "format": "csv"}, headers=token())
        lines = table.text.splitlines()
        assert lines[0] == "dimension,key,open_flags,loans_flagged,outstanding_flagged,raised,resolved"
        assert "rule,fund_untraced,0,0,0.00,1,1" in lines and lines[1] == "total,all,3,2,3000.00,3,1"
        assert (await client.get(PATH, params={"as_of": "2026-05-01"}, headers=token())).status_code == 422
        assert (await client.get(PATH, headers=token("collector"))).status_code == 403
