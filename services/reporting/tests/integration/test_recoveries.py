"""Recoveries after write-off and agency commission through events, every figure worked out by hand.

All disbursed 2026-01-05 · W1 P1/B1 3,000: 3,100 owed from 10 Feb, written off 10 Mar; recoveries
500 (15 Mar) and 300 (10 Apr) · W2 P1/B2 2,000: 2,050 owed from 10 Feb, pays 150 on 3 Mar (1,900
left) and 80 on 4 Mar that is reversed on 6 Mar, written off 20 Mar; recoveries 400 (25 Mar) and
200 (5 Apr) · W3 P2/B1 1,000: no observation (owes its principal), written off 2 Apr; recovery 100 (3 Apr).
Placements: PL1 W2 with AG1 at 15 % from 1 Mar, recalled 1 Apr; PL2 W2 with AG2 at 20 % from
1 Apr; PL3 W1 with AG1 at 10 % from 12 Mar, open.

March: written off W1 3,100 + W2 1,900 = 5,000, recovered by 31 Mar 500 + 400 = 900 (18 %).
AG1: PL1 150 + 400 = 550 × 15 % = 82.50 (the reversed 80 does not count); PL3 500 × 10 % = 50.00.
March and April: W3 too (6,000); recovered 800 + 600 + 100 = 1,500 (25 %); AG1 PL1 82.50 + PL3
800 × 10 % = 80.00; AG2 200 × 20 % = 40.00 (the recall day is AG2's).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest

from postloan_common.contracts import crm, repayment

from .test_scenario import day_closed, ev, feed, paid, registered

pytestmark = pytest.mark.integration

PATH = "/v1/reports/recoveries"


def _owed(loan: str, day: str, outstanding: str) -> object:
    return ev(
        repayment.DelinquencyChangedV1(
            loan_id=loan,
            customer_id=f"C-{loan}",
            from_bucket="M0",
            to_bucket="M2",
            dpd=36,
            overdue_amount=D("1100.00"),
            outstanding=D(outstanding),
            currency="CNY",
        ),
        day,
    )


def _written_off(loan: str, day: str) -> object:
    closed = repayment.LoanClosedV1(
        loan_id=loan, customer_id=f"C-{loan}", closed_on=date.fromisoformat(day), reason="written_off"
    )
    return ev(closed, day)


def _recovery(loan: str, repayment_id: str, day: str, amount: str) -> object:
    when = date.fromisoformat(day)
    data = repayment.RecoveryReceivedV1(
        loan_id=loan,
        customer_id=f"C-{loan}",
        repayment_id=repayment_id,
        amount=D(amount),
        currency="CNY",
        value_date=when,
        received_on=when,
        channel="bank_transfer",
    )
    return ev(data, day)


def _placed(placement: str, loan: str, agency: str, rate: str, day: str) -> object:
    case = dict(case_id=f"K-{loan}", customer_id=f"C-{loan}", loan_id=loan, placement_id=placement, agency_id=agency)
    return ev(crm.CasePlacedV1(**case, commission_rate=D(rate), placed_on=date.fromisoformat(day)), day, "crm")


def _recalled(placement: str, loan: str, agency: str, day: str) -> object:
    case = dict(case_id=f"K-{loan}", customer_id=f"C-{loan}", loan_id=loan, placement_id=placement, agency_id=agency)
    return ev(crm.CaseRecalledV1(**case, recalled_on=date.fromisoformat(day)), day, "crm")


def _reversed(loan: str, repayment_id: str, value_date: date, day: str, after: str) -> object:
    data = repayment.PaymentReversedV1(
        loan_id=loan,
        customer_id=f"C-{loan}",
        repayment_id=repayment_id,
        amount=D("80.00"),
        currency="CNY",
        value_date=value_date,
        reversed_on=date.fromisoformat(day),
        reason="bounced",
        outstanding_after=D(after),
        overdue_after=D("0"),
        dpd_after=0,
        bucket_after="M0",
    )
    return ev(data, day)


def book() -> list:
    return [
        registered("W1", "P1", "B1", "3000.00"),
        registered("W2", "P1", "B2", "2000.00"),
        registered("W3", "P2", "B1", "1000.00"),
        _owed("W1", "2026-02-10", "3100.00"),
        _owed("W2", "2026-02-10", "2050.00"),
        _placed("PL1", "W2", "AG1", "0.15", "2026-03-01"),
        ev(paid("W2", "R-W2-1", date(2026, 3, 3), interest="0", principal="150.00", after="1900.00"), "2026-03-03"),
        ev(paid("W2", "R-W2-2", date(2026, 3, 4), interest="0", principal="80.00", after="1820.00"), "2026-03-04"),
        _reversed("W2", "R-W2-2", date(2026, 3, 4), "2026-03-06", "1900.00"),
        _written_off("W1", "2026-03-10"),
        _placed("PL3", "W1", "AG1", "0.10", "2026-03-12"),
        _recovery("W1", "V-W1-1", "2026-03-15", "500.00"),
        _written_off("W2", "2026-03-20"),
        _recovery("W2", "V-W2-1", "2026-03-25", "400.00"),
        day_closed("2026-03-31", 0),
        day_closed("2026-03-31", 1),
        # The recall and the next placement of one day, in the order crm may publish them.
        _placed("PL2", "W2", "AG2", "0.20", "2026-04-01"),
        _recalled("PL1", "W2", "AG1", "2026-04-01"),
        _written_off("W3", "2026-04-02"),
        _recovery("W3", "V-W3-1", "2026-04-03", "100.00"),
        _recovery("W2", "V-W2-2", "2026-04-05", "200.00"),
        _recovery("W1", "V-W1-2", "2026-04-10", "300.00"),
        day_closed("2026-04-30", 0),
        day_closed("2026-04-30", 1),
    ]


def _slice(key: str, loans: int, written_off: str, recovered: str, rate: str) -> dict[str, object]:
    return {"key": key, "loans": loans, "written_off": written_off, "recovered": recovered, "recovery_rate": rate}


def _agency(agency: str, placed: int, recovered: str, owed: str) -> dict[str, object]:
    return {"agency_id": agency, "cases_placed": placed, "amount_recovered": recovered, "commission_owed": owed}


async def test_recoveries_by_product_branch_cohort_and_agency_commission(
    migrated_database, reporting_api, token
) -> None:
    url = await migrated_database("postloan_reporting")
    await feed(url, book())
    async with reporting_api(url) as client:
        march = await client.get(PATH, params={"from": "2026-03-01", "to": "2026-03-31"}, headers=token("analyst"))
        assert march.status_code == 200, march.text
        assert march.json() == {
            "start": "2026-03-01",
            "end": "2026-03-31",
            "filters": {"product": None, "branch": None},
            "total": _slice("all", 2, "5000.00", "900.00", "0.180000"),
            "by_product": [_slice("P1", 2, "5000.00", "900.00", "0.180000")],
            "by_branch": [
                _slice("B1", 1, "3100.00", "500.00", "0.161290"),
                _slice("B2", 1, "1900.00", "400.00", "0.210526"),
            ],
            "by_cohort": [_slice("2026-03", 2, "5000.00", "900.00", "0.180000")],
            "agencies": [_agency("AG1", 2, "1050.00", "132.50")],
        }
        both = (
            await client.get(PATH, params={"from": "2026-03-01", "to": "2026-04-30"}, headers=token("risk_officer"))
        ).json()
        assert both["total"] == _slice("all", 3, "6000.00", "1500.00", "0.250000")
        assert both["by_product"] == [
            _slice("P1", 2, "5000.00", "1400.00", "0.280000"),
            _slice("P2", 1, "1000.00", "100.00", "0.100000"),
        ]
        assert both["by_branch"] == [
            _slice("B1", 2, "4100.00", "900.00", "0.219512"),
            _slice("B2", 1, "1900.00", "600.00", "0.315789"),
        ]
        assert both["by_cohort"] == [
            _slice("2026-03", 2, "5000.00", "1400.00", "0.280000"),
            _slice("2026-04", 1, "1000.00", "100.00", "0.100000"),
        ]
        assert both["agencies"] == [_agency("AG1", 2, "1350.00", "162.50"), _agency("AG2", 1, "200.00", "40.00")]
        csv_rows = list(
            csv.DictReader(
                io.StringIO(
                    (
                        await client.get(
                            PATH, params={"from": "2026-03-01", "to": "2026-03-31", "format": "csv"}, headers=token()
                        )
                    ).text
                )
            )
        )
        assert csv_rows[0] == {
            "dimension": "total",
            "key": "all",
            "loans": "2",
            "written_off": "5000.00",
            "recovered": "900.00",
            "recovery_rate": "0.180000",
            "cases_placed": "",
            "amount_recovered": "",
            "commission_owed": "",
        }
        assert [(r["dimension"], r["key"], r["commission_owed"]) for r in csv_rows[-1:]] == [
            ("agency", "AG1", "132.50")
        ]
        # The management report of 31 Mar has the section, for its month to date.
        page = await client.get("/v1/reports/management", params={"as_of": "2026-03-31", "lang": "en"}, headers=token())
        assert "<td>2026-03</td><td>2</td><td>5,000.00</td><td>900.00</td><td>18.00%</td>" in page.text
        assert "<td>AG1</td><td>2</td><td>1,050.00</td><td>132.50</td>" in page.text
        # Default period: the month of the latest closed day (April).
        april = (await client.get(PATH, headers=token("supervisor"))).json()
        assert (april["start"], april["end"]) == ("2026-04-01", "2026-04-30")
        assert april["total"] == _slice("all", 1, "1000.00", "100.00", "0.100000")
        p2 = (await client.get(PATH, params={"from": "2026-03-01", "product": "P2"}, headers=token("admin"))).json()
        assert p2["by_branch"] == [_slice("B1", 1, "1000.00", "100.00", "0.100000")] and p2["agencies"] == []
        empty = (await client.get(PATH, params={"from": "2026-01-01", "to": "2026-01-31"}, headers=token())).json()
        assert empty["total"] == _slice("all", 0, "0.00", "0.00", None) and empty["by_cohort"] == []
        bad = await client.get(PATH, params={"from": "2026-04-02", "to": "2026-04-01"}, headers=token())
        assert bad.status_code == 422
        assert (await client.get(PATH, params={"to": "2026-05-31"}, headers=token())).status_code == 422
        assert (await client.get(PATH, headers=token("collector"))).status_code == 403
