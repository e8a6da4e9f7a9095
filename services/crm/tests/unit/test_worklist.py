"""The collector's worklist: expected recovery, reasons, order (docs/domain.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

from postloan_crm.domain.access import CaseScope, may_read_worklist
from postloan_crm.domain.worklist import CaseFacts, cure_probability, expected_recovery, reasons, worklist

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def facts(case_id: str = "C1", **changes) -> CaseFacts:
    base = {
        "case_id": case_id,
        "bucket": "M2",
        "balance_due": D("1000.00"),
        "pd": D("0.20"),
        "opened_on": date(2026, 2, 1),
        "promise_date": None,
        "last_broken_on": None,
        "callback_at": None,
        "interactions": 3,
    }
    return CaseFacts(**(base | changes))


def test_cure_probability_is_the_bucket_rate_times_one_minus_pd():
    assert cure_probability(bucket="M1", pd=D("0.10")) == D("0.54")
    assert cure_probability(bucket="M2", pd=None) == D("0.40")
    assert cure_probability(bucket="M6+", pd=D("1.5")) == D("0")  # a PD above 1 is capped
    assert cure_probability(bucket="M9", pd=None) == D("0.02")


def test_expected_recovery_is_money_rounded_half_up():
    assert expected_recovery(balance_due=D("1000.00"), bucket="M2", pd=D("0.20")) == D("320.00")
    assert expected_recovery(balance_due=D("0.05"), bucket="M2", pd=None) == D("0.02")


def test_reasons_name_what_is_due_now():
    case = facts(
        promise_date=TODAY,
        callback_at=datetime(2026, 3, 10, 1, 0, tzinfo=UTC),
        last_broken_on=date(2026, 3, 5),
        interactions=0,
        opened_on=TODAY,
        balance_due=D("20000.00"),
    )
    priority = expected_recovery(balance_due=case.balance_due, bucket=case.bucket, pd=case.pd)
    assert reasons(case, priority=priority, today=TODAY, now=NOW) == (
        "promise_due_today",
        "callback_due",
        "broken_promise",
        "new_case",
        "high_expected_recovery",
    )
    later = facts(callback_at=datetime(2026, 3, 10, 5, 0, tzinfo=UTC), last_broken_on=date(2026, 2, 1))
    assert reasons(later, priority=D("1"), today=TODAY, now=NOW) == ()


def test_promises_and_callbacks_due_now_come_first_then_expected_recovery():
    big = facts("BIG", balance_due=D("9000.00"))
    small_due = facts("SMALL", balance_due=D("10.00"), promise_date=TODAY)
    mid = facts("MID", balance_due=D("3000.00"))
    callback = facts("CALL", balance_due=D("20.00"), callback_at=NOW)
    items = worklist([big, small_due, mid, callback], today=TODAY, now=NOW)
    assert [i.case_id for i in items] == ["CALL", "SMALL", "BIG", "MID"]
    assert items[0].next_action_at == NOW
    assert items[2].priority == D("2880.00")


def test_who_may_read_whose_worklist():
    collector = CaseScope(assignees=frozenset({"a1"}), unassigned=False)
    supervisor = CaseScope(assignees=frozenset({"sup", "a1", "a2"}), unassigned=True)
    assert may_read_worklist(collector, subject="a1", agent="a1")
    assert not may_read_worklist(collector, subject="a1", agent="a2")
    assert may_read_worklist(supervisor, subject="sup", agent="a2")
    assert not may_read_worklist(supervisor, subject="sup", agent="b9")
    assert may_read_worklist(None, subject="admin", agent="b9")
