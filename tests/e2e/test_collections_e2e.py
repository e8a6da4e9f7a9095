"""Delinquency across the four services: core banking events in, every service's state asserted.

One loan, L-1: 3,000.00 booked on 2026-01-05 with installments of 1,030.00, 1,020.00 and 1,010.00
due on the 5th of February, March and April. Closing 2026-02-05 unpaid makes it 1 day past due
on 2026-02-06 (bucket M1); it crosses 30 DPD on 2026-03-08 (M2).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from postloan_crm.domain.strategy import RiskView, StrategyTable, escalated

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOAN, CUSTOMER = "L-1", "C-1"
FIRST_DUE = date(2026, 2, 5)


async def booked(platform: Any) -> None:
    await platform.upsert_customer(CUSTOMER)
    await platform.book_loan(LOAN, CUSTOMER)
    await platform.settle()


async def loan(platform: Any) -> dict[str, Any]:
    return await platform.get("repayment-monitor", f"/v1/loans/{LOAN}")


async def risk(platform: Any) -> dict[str, Any]:
    return await platform.get("risk-alert", f"/v1/risk/loans/{LOAN}")


async def cases(platform: Any) -> list[dict[str, Any]]:
    body = await platform.get("crm", "/v1/cases", customer_id=CUSTOMER)
    return [c for c in body["items"] if c["loan_id"] == LOAN]


async def open_case(platform: Any) -> dict[str, Any]:
    found = [c for c in await cases(platform) if c["status"] == "open"]
    assert len(found) == 1, found
    return await platform.get("crm", f"/v1/cases/{found[0]['case_id']}")


async def bucket_on(platform: Any, day: date) -> tuple[str, Decimal]:
    """Reporting's aging as of `day`: the one bucket holding loans, and its balance."""
    report = await platform.get("reporting", "/v1/reports/aging", role="analyst", as_of=day.isoformat())
    assert report["as_of"] == day.isoformat()
    held = [(b["bucket"], Decimal(b["balance"])) for b in report["buckets"] if int(b["loans"])]
    assert len(held) == 1, report
    return held[0]


async def dpd_alerts(platform: Any) -> list[dict[str, Any]]:
    body = await platform.get("risk-alert", "/v1/alerts", role="risk_officer")
    return [a for a in body["items"] if a["subject_id"] == LOAN and a["rule_id"] == "dpd-over-30"]


async def crm_risk_view(platform: Any) -> RiskView:
    """What crm learned from risk.scores about the loan: the input of its collection strategy."""
    rows = await platform.fetch("crm", "SELECT pd, classification FROM risk WHERE loan_id = $1", LOAN)
    return RiskView(pd=rows[0]["pd"], classification=rows[0]["classification"]) if rows else RiskView()


async def pay_arrears(platform: Any, repayment_id: str, on: date) -> Decimal:
    """Core banking posts exactly what is overdue, value-dated `on`; return the amount."""
    overdue = Decimal((await loan(platform))["overdue"]["total"])
    assert overdue > 0
    await platform.post_repayment(LOAN, repayment_id, str(overdue), on)
    await platform.settle()
    return overdue


# Timeline entries crm writes from risk.scores (alerts and reviews), beside the case's own steps.
RISK_ENTRIES = {"review_due", "risk_alert", "risk_alert_resolved"}


def collection_steps(case: dict) -> list[str]:
    """The kinds of the case's own timeline entries, in order, without what risk-alert reported."""
    return [e["kind"] for e in case["timeline"] if e["kind"] not in RISK_ENTRIES]


async def test_a_missed_payment_reaches_collections_risk_and_reporting(platform):
    await booked(platform)
    await platform.advance(date(2026, 2, 7))

    state = await loan(platform)
    assert (state["dpd"], state["bucket"]) == (2, "M1")

    case = await open_case(platform)
    # The miss is announced by the close of the due date and belongs to the first day past due.
    assert (case["bucket"], case["opened_on"]) == ("M1", (FIRST_DUE + timedelta(days=1)).isoformat())
    # The strategy's queue for the risk crm was told about: low risk in M1 means automated reminders.
    expected = StrategyTable().queue_for(bucket="M1", dpd=case["dpd"], risk=await crm_risk_view(platform))
    assert expected is not None and case["queue"] == expected.value == "automated"
    kinds = [e["kind"] for e in case["timeline"]]
    # Besides its opening, the case shows what risk-alert told crm about the loan while it was open:
    # reviews falling due and alerts (issue 16 item 5); nothing else writes to a new case's timeline.
    assert collection_steps(case) == ["opened"] and set(kinds) <= {"opened", *RISK_ENTRIES}

    scored = await risk(platform)
    assert (scored["classification"], scored["classification_reason"]) == ("special_mention", "dpd_floor")
    assert scored["dpd"] >= 1 and scored["score"] > 0 and Decimal(scored["pd"]) > 0
    # risk.scores carried the classification to crm.
    assert (await crm_risk_view(platform)).classification == "special_mention"
    assert await dpd_alerts(platform) == []

    assert await bucket_on(platform, date(2026, 2, 4)) == ("M0", Decimal("3000.00"))
    assert await bucket_on(platform, date(2026, 2, 6)) == ("M1", Decimal("3000.00"))

    # 30 days past due on 2026-03-07: the DPD rule stays quiet; 31 on 2026-03-08: it fires when
    # risk-alert scores 2026-03-08, at that day's close.
    await platform.advance(date(2026, 3, 8))
    assert ((await loan(platform))["dpd"], (await loan(platform))["bucket"]) == (31, "M2")
    assert await dpd_alerts(platform) == []

    case = await open_case(platform)
    assert (case["bucket"], case["dpd"], case["queue"]) == ("M2", 31, "phone")
    assert collection_steps(case) == ["opened", "escalated"]

    await platform.advance(date(2026, 3, 9))
    [alert] = await dpd_alerts(platform)
    assert (alert["status"], alert["severity"], alert["customer_id"]) == ("open", "medium", CUSTOMER)
    assert (await risk(platform))["ifrs9_stage"] == 2  # presumed SICR beyond 30 DPD
    assert await bucket_on(platform, date(2026, 3, 7)) == ("M1", Decimal("3000.00"))
    assert await bucket_on(platform, date(2026, 3, 8)) == ("M2", Decimal("3000.00"))


async def test_a_repayment_cures_the_loan_and_closes_the_case(platform):
    await booked(platform)
    await platform.advance(date(2026, 2, 10))
    assert (await open_case(platform))["dpd"] >= 1

    paid = await pay_arrears(platform, "R-1", date(2026, 2, 10))

    state = await loan(platform)
    assert (state["dpd"], state["bucket"], Decimal(state["overdue"]["total"])) == (0, "M0", Decimal("0.00"))
    [case] = await cases(platform)
    assert (case["status"], case["close_reason"], case["closed_on"]) == ("closed", "cured", "2026-02-10")
    assert Decimal(case["amount_collected"]) == paid

    await platform.advance(date(2026, 2, 12))
    # risk-alert re-derives DPD at close of day.
    assert (await risk(platform))["dpd"] == 0
    assert await bucket_on(platform, date(2026, 2, 9)) == ("M1", Decimal("3000.00"))
    assert await bucket_on(platform, date(2026, 2, 11)) == ("M0", Decimal("2000.00"))


async def test_a_broken_promise_escalates_the_case(platform):
    await booked(platform)
    await platform.advance(date(2026, 2, 10))
    case = await open_case(platform)
    assert case["queue"] == "automated"

    made = await platform.post(
        "crm",
        f"/v1/cases/{case['case_id']}/promises",
        {"amount": "500.00", "promised_date": "2026-02-12"},
        role="supervisor",
        expect=201,
    )
    await platform.settle()

    await platform.advance(date(2026, 2, 12))  # closes 2026-02-11: the promise still stands
    case = await open_case(platform)
    assert [p["status"] for p in case["promises"]] == ["open"]
    assert case["queue"] == "automated"

    await platform.advance(date(2026, 2, 13))  # closes 2026-02-12 with nothing paid
    case = await open_case(platform)
    [promise] = case["promises"]
    assert (promise["promise_id"], promise["status"], promise["resolved_on"]) == (
        made["promise_id"],
        "broken",
        "2026-02-12",
    )
    assert case["queue"] == escalated("automated").value == "phone"
    escalation = [e for e in case["timeline"] if e["kind"] not in RISK_ENTRIES][-1]
    assert escalation["kind"] == "escalated"
    assert escalation["details"]["from_queue"] == "automated" and made["promise_id"] in escalation["details"]["reason"]

    # crm.activities took the promise to risk-alert's features and reporting's store.
    features = await platform.fetch(
        "risk-alert", "SELECT promises_made, broken_promises FROM loan_features WHERE loan_id = $1", LOAN
    )
    assert [tuple(r) for r in features] == [(1, 1)]
    stored = await platform.fetch("reporting", "SELECT status, resolved_on FROM rpt_promise")
    assert [tuple(r) for r in stored] == [("broken", date(2026, 2, 12))]


async def test_a_reversal_undoes_the_cure_everywhere(platform):
    await booked(platform)
    await platform.advance(date(2026, 2, 10))
    await pay_arrears(platform, "R-1", date(2026, 2, 10))
    [cured] = await cases(platform)
    assert cured["status"] == "closed"

    await platform.advance(date(2026, 2, 12))
    await platform.reverse_repayment(LOAN, "R-1", date(2026, 2, 12))
    await platform.settle()

    # repayment-monitor: the bounced payment never happened, so the cure is gone from the history too.
    state = await loan(platform)
    assert (state["dpd"], state["bucket"]) == (7, "M1")
    history = await platform.get("repayment-monitor", f"/v1/loans/{LOAN}/dpd-history")
    assert [(p["start"], p["bucket"]) for p in history["periods"]] == [("2026-01-05", "M0"), ("2026-02-06", "M1")]

    # crm: the cured case stays closed as it was; collection restarts in a new case.
    by_status = {c["status"]: c for c in await cases(platform)}
    assert sorted(by_status) == ["closed", "open"]
    assert by_status["closed"]["case_id"] == cured["case_id"]
    assert by_status["closed"]["close_reason"] == "cured"
    reopened = by_status["open"]
    assert (reopened["bucket"], reopened["dpd"], reopened["queue"]) == ("M1", 7, "automated")
    assert reopened["opened_on"] == "2026-02-12"

    reversals = await platform.fetch("risk-alert", "SELECT reversals FROM loan_features WHERE loan_id = $1", LOAN)
    assert [r["reversals"] for r in reversals] == [1]

    await platform.advance(date(2026, 2, 13))
    # risk-alert re-scores at close of day: overdue again, so special mention again.
    scored = await risk(platform)
    assert scored["dpd"] > 0 and scored["classification"] == "special_mention"
    assert await bucket_on(platform, date(2026, 2, 12)) == ("M1", Decimal("3000.00"))
    # As of the value date the payment no longer counts, as in repayment-monitor's history.
    assert await bucket_on(platform, date(2026, 2, 10)) == ("M1", Decimal("3000.00"))


async def test_reporting_buckets_agree_with_repayment_monitor_on_every_closed_day(platform):
    await booked(platform)
    await platform.advance(date(2026, 2, 8))
    history = (await platform.get("repayment-monitor", f"/v1/loans/{LOAN}/dpd-history"))["periods"]

    def monitored(day: date) -> str:
        return [p["bucket"] for p in history if date.fromisoformat(p["start"]) <= day][-1]

    days = [date(2026, 2, d) for d in range(3, 8)]
    reported = {day: (await bucket_on(platform, day))[0] for day in days}
    assert reported == {day: monitored(day) for day in days}
