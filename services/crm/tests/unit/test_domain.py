"""Pure crm rules: contact policy, strategy, assignment, promises, templates, channel choice."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal as D

import pytest

from postloan_common.contracts.crm import CollectionQueue as Q
from postloan_crm.domain.assignment import AgentLoad, assign_many, pick_agent
from postloan_crm.domain.channels import choose_channel
from postloan_crm.domain.contact_policy import (
    ContactPolicy,
    Counting,
    PastContact,
    Rule,
    default_policies,
    evaluate,
    policy_for,
)
from postloan_crm.domain.promises import Promise, PromiseStatus, apply_payment, close_day, reverse_payment
from postloan_crm.domain.strategy import RiskView, StrategyTable, escalated
from postloan_crm.domain.templates import ReminderFacts, render_reminder

POLICIES = default_policies()
CN_SMS = policy_for(POLICIES, jurisdiction="CN", channel="sms")
CN_PHONE = policy_for(POLICIES, jurisdiction="CN", channel="phone")
US_PHONE = policy_for(POLICIES, jurisdiction="US", channel="phone")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- quiet hours ---------------------------------------------------------------------------


def test_allowed_in_daytime_shanghai():
    # 02:00 UTC = 10:00 in Shanghai
    assert evaluate(CN_SMS, timezone="Asia/Shanghai", now=utc(2026, 3, 1, 2, 0)).allowed


def test_late_evening_is_deferred_to_next_morning_across_the_day_boundary():
    # 15:30 UTC on 1 March = 23:30 in Shanghai: deferred to 08:00 local on 2 March = 00:00 UTC 2 March.
    decision = evaluate(CN_SMS, timezone="Asia/Shanghai", now=utc(2026, 3, 1, 15, 30))
    assert not decision.allowed
    assert decision.rule is Rule.QUIET_HOURS
    assert decision.until == utc(2026, 3, 2, 0, 0)


def test_early_morning_is_deferred_to_eight_the_same_local_day():
    # 20:00 UTC on 1 March = 04:00 on 2 March in Shanghai → 08:00 on 2 March local = 00:00 UTC 2 March.
    decision = evaluate(CN_SMS, timezone="Asia/Shanghai", now=utc(2026, 3, 1, 20, 0))
    assert decision.rule is Rule.QUIET_HOURS
    assert decision.until == utc(2026, 3, 2, 0, 0)


def test_the_same_instant_is_quiet_in_one_zone_and_allowed_in_another():
    now = utc(2026, 3, 1, 15, 30)  # 23:30 Shanghai, 10:30 New York, 15:30 London
    assert evaluate(CN_SMS, timezone="Asia/Shanghai", now=now).rule is Rule.QUIET_HOURS
    assert evaluate(CN_SMS, timezone="America/New_York", now=now).allowed
    assert evaluate(CN_SMS, timezone="Europe/London", now=now).allowed


def test_us_profile_quiet_from_nine_pm_and_dst_respected():
    # 8 March 2026 is the US spring-forward day; 02:30 UTC on 9 March = 22:30 EDT on 8 March.
    decision = evaluate(US_PHONE, timezone="America/New_York", now=utc(2026, 3, 9, 2, 30))
    assert decision.rule is Rule.QUIET_HOURS
    assert decision.until == utc(2026, 3, 9, 12, 0)  # 08:00 EDT (UTC−4)
    # One week earlier the offset is UTC−5: 08:00 EST = 13:00 UTC.
    earlier = evaluate(US_PHONE, timezone="America/New_York", now=utc(2026, 3, 2, 3, 0))
    assert earlier.until == utc(2026, 3, 2, 13, 0)
    assert evaluate(US_PHONE, timezone="America/New_York", now=utc(2026, 3, 9, 0, 30)).allowed  # 20:30 EDT


def test_boundaries_are_half_open():
    at_eight = utc(2026, 3, 2, 0, 0)  # 08:00 Shanghai
    at_ten_pm = utc(2026, 3, 1, 14, 0)  # 22:00 Shanghai
    assert evaluate(CN_SMS, timezone="Asia/Shanghai", now=at_eight).allowed
    assert evaluate(CN_SMS, timezone="Asia/Shanghai", now=at_ten_pm).rule is Rule.QUIET_HOURS
    assert evaluate(CN_SMS, timezone="Asia/Shanghai", now=at_ten_pm - timedelta(minutes=1)).allowed


def test_daytime_quiet_window_that_does_not_wrap():
    lunch = ContactPolicy("CN", "sms", time(12, 0), time(13, 0))
    decision = evaluate(lunch, timezone="UTC", now=utc(2026, 3, 1, 12, 30))
    assert decision.until == utc(2026, 3, 1, 13, 0)
    assert evaluate(lunch, timezone="UTC", now=utc(2026, 3, 1, 13, 0)).allowed


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        evaluate(CN_SMS, timezone="Asia/Shanghai", now=datetime(2026, 3, 1, 2, 0))


# --- caps and opt-outs ---------------------------------------------------------------------


def test_cn_three_connected_calls_a_local_day():
    now = utc(2026, 3, 1, 6, 0)  # 14:00 Shanghai
    three = [PastContact(utc(2026, 3, 1, 1, m), connected=True) for m in (0, 10, 20)]
    refused = evaluate(CN_PHONE, timezone="Asia/Shanghai", now=now, history=three)
    assert refused.rule is Rule.DAILY_CAP
    assert refused.until == utc(2026, 3, 2, 0, 0)  # 08:00 the next local day
    # Unanswered attempts do not count towards a connected-call cap, and an unanswered call is always allowed.
    misses = [PastContact(utc(2026, 3, 1, 1, m), connected=False) for m in range(10)]
    assert evaluate(CN_PHONE, timezone="Asia/Shanghai", now=now, history=misses).allowed
    assert evaluate(CN_PHONE, timezone="Asia/Shanghai", now=now, history=three, counts=False).allowed
    # Calls of the previous local day (23:50 UTC on 28 Feb = 07:50 on 1 March local is today!) are counted by local day.
    yesterday = [PastContact(utc(2026, 2, 28, 15, m), connected=True) for m in (0, 10, 20)]  # 23:xx on 28 Feb local
    assert evaluate(CN_PHONE, timezone="Asia/Shanghai", now=now, history=yesterday).allowed


def test_us_seven_attempts_in_seven_days():
    now = utc(2026, 3, 8, 15, 0)
    attempts = [PastContact(utc(2026, 3, d, 15, 0), connected=False) for d in range(2, 9) if d != 8] + [
        PastContact(utc(2026, 3, 8, 14, 0), connected=False)
    ]
    assert len(attempts) == 7
    decision = evaluate(US_PHONE, timezone="America/New_York", now=now, history=attempts)
    assert decision.rule is Rule.WINDOW_CAP
    # The oldest (2 March 15:00 UTC) leaves the window 7 days later, 10:00 local, outside quiet hours.
    assert decision.until == utc(2026, 3, 9, 15, 0)
    assert evaluate(US_PHONE, timezone="America/New_York", now=now, history=attempts[1:]).allowed


def test_opt_out_is_refused_for_good():
    decision = evaluate(CN_SMS, timezone="Asia/Shanghai", now=utc(2026, 3, 1, 2, 0), opted_out=True)
    assert decision.rule is Rule.OPT_OUT
    assert decision.until is None
    assert not decision.deferrable


def test_counting_enum_and_policy_lookup_fallback():
    assert CN_PHONE.counting is Counting.CONNECTED
    assert policy_for(POLICIES, jurisdiction="DE", channel="phone") == CN_PHONE
    assert policy_for(POLICIES, jurisdiction="CN", channel="letter").quiet_start is None


# --- strategy and assignment ---------------------------------------------------------------

LOW = RiskView(pd=D("0.02"), classification="special_mention")
HIGH = RiskView(pd=D("0.35"), classification="special_mention")
NPL = RiskView(pd=D("0.01"), classification="substandard")


@pytest.mark.parametrize(
    ("bucket", "dpd", "risk", "queue"),
    [
        ("M0", 0, HIGH, None),
        ("M1", 5, LOW, Q.AUTOMATED),
        ("M1", 5, None, Q.AUTOMATED),
        ("M1", 5, HIGH, Q.PHONE),
        ("M1", 5, NPL, Q.PHONE),
        ("M2", 40, LOW, Q.PHONE),
        ("M3", 70, LOW, Q.SENIOR),
        ("M4", 100, HIGH, Q.SENIOR),
        ("M5", 130, LOW, Q.FIELD),
        ("M6", 175, LOW, Q.FIELD),
        ("M6", 181, LOW, Q.RECOVERY),
        ("M6+", 200, LOW, Q.RECOVERY),
    ],
)
def test_default_strategy_table(bucket, dpd, risk, queue):
    assert StrategyTable().queue_for(bucket=bucket, dpd=dpd, risk=risk) == queue


def test_strategy_table_is_configurable():
    table = StrategyTable(rows={"M1": (Q.PHONE, Q.SENIOR)}, high_risk_pd=D("0.5"))
    assert table.queue_for(bucket="M1", dpd=3, risk=HIGH) is Q.PHONE
    assert table.queue_for(bucket="M2", dpd=40, risk=HIGH) is None
    assert escalated("automated") is Q.PHONE
    assert escalated("recovery") is Q.RECOVERY


def test_balanced_assignment_least_loaded_then_id():
    agents = [AgentLoad("b", 2), AgentLoad("a", 2), AgentLoad("c", 3)]
    assert pick_agent(agents) == "a"
    assert assign_many(agents, 4) == ["a", "b", "a", "b"]
    assert pick_agent([AgentLoad("a", 5, capacity=5), AgentLoad("z", 9)]) == "z"
    assert pick_agent([AgentLoad("a", 5, capacity=5)]) is None
    picks = assign_many([AgentLoad("x", 0), AgentLoad("y", 0), AgentLoad("z", 0)], 9)
    assert {p: picks.count(p) for p in "xyz"} == {"x": 3, "y": 3, "z": 3}


# --- promises ------------------------------------------------------------------------------


def test_promise_kept_when_payments_reach_the_amount_by_the_date():
    p = Promise(amount=D("500.00"), promised_date=date(2026, 3, 10), made_on=date(2026, 3, 1))
    p = apply_payment(p, amount=D("200.00"), value_date=date(2026, 3, 5))
    assert p.status is PromiseStatus.OPEN
    assert p.amount_paid == D("200.00")
    p = apply_payment(p, amount=D("300.00"), value_date=date(2026, 3, 10))
    assert p.status is PromiseStatus.KEPT
    assert p.resolved_on == date(2026, 3, 10)


def test_promise_ignores_payments_outside_its_window_and_breaks_after_its_date():
    p = Promise(amount=D("500.00"), promised_date=date(2026, 3, 10), made_on=date(2026, 3, 1))
    p = apply_payment(p, amount=D("900.00"), value_date=date(2026, 2, 28))  # before it was made
    p = apply_payment(p, amount=D("900.00"), value_date=date(2026, 3, 11))  # too late
    assert p.amount_paid == 0
    assert close_day(p, date(2026, 3, 9)).status is PromiseStatus.OPEN
    broken = close_day(apply_payment(p, amount=D("499.99"), value_date=date(2026, 3, 2)), date(2026, 3, 10))
    assert broken.status is PromiseStatus.BROKEN
    assert broken.resolved_on == date(2026, 3, 10)


def test_reversal_takes_back_progress_of_an_open_promise():
    p = Promise(amount=D("500.00"), promised_date=date(2026, 3, 10), made_on=date(2026, 3, 1))
    p = apply_payment(p, amount=D("200.00"), value_date=date(2026, 3, 5))
    p = reverse_payment(p, amount=D("200.00"), value_date=date(2026, 3, 5))
    assert p.amount_paid == 0


# --- templates and channel -----------------------------------------------------------------

FACTS = ReminderFacts("L-1", 2, D("1020.5"), "CNY", date(2026, 3, 5), "PAY-L-1-2", 3)


def test_reminder_texts_carry_amount_due_date_and_reference():
    zh = render_reminder(FACTS, language="zh-CN")
    en = render_reminder(FACTS, language="en")
    for message in (zh, en):
        assert "1,020.50 CNY" in message.body
        assert "2026-03-05" in message.body
        assert "PAY-L-1-2" in message.body
    assert "还款提醒" in zh.body
    assert "Payment reminder" in en.body
    assert render_reminder(FACTS, language="fr").language == "en"
    assert render_reminder(ReminderFacts("L", 1, D(1), "CNY", date(2026, 3, 5), "R", 0), language="zh-CN").template == (
        "payment-due-today"
    )


def test_channel_choice_prefers_consented_channel_and_falls_back():
    where = {"sms": "+8613800138000", "email": "a@example.com", "app_push": None}
    assert choose_channel(preferred="email", consents={}, recipients=where).channel == "email"
    assert choose_channel(preferred="email", consents={"email": False}, recipients=where).channel == "sms"
    none = choose_channel(preferred=None, consents={"sms": False, "email": False}, recipients=where)
    assert none.channel is None
    assert none.reason == "opt_out"
    assert choose_channel(preferred=None, consents={}, recipients={}).reason == "no_contact_point"


def test_only_the_current_bucket_is_not_delinquent():
    from postloan_crm.domain.strategy import CURRENT_BUCKET, is_delinquent

    assert not is_delinquent(CURRENT_BUCKET)
    assert all(is_delinquent(b) for b in ("M1", "M2", "M3", "M4+"))


def test_care_messages_read_in_chinese_and_english():
    from postloan_crm.domain.templates import CARE_KINDS, render_care

    for kind in CARE_KINDS:
        zh = render_care(kind, loan_id="L-1", language="zh-CN")
        en = render_care(kind, loan_id="L-1", language="de")
        assert zh.template == en.template == f"care-{kind}".replace("_", "-")
        assert (zh.language, en.language) == ("zh-CN", "en")
    assert "L-1" in render_care("maturity", loan_id="L-1", language="en").body
