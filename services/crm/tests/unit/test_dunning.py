"""Dunning ladder rules (docs/domain.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from postloan_crm.domain.dunning import (
    DunningStep,
    Ladder,
    default_ladders,
    dpd_on,
    dunning_channel,
    ladder_for,
    merge_ladders,
    next_step,
    stop_reason,
)
from postloan_crm.domain.templates import DUNNING_TEMPLATES, DunningFacts, render_dunning

LADDERS = default_ladders()
AUTOMATED = ladder_for(LADDERS, queue="automated", bucket="M1")


def test_the_default_automated_ladder_is_sms_email_sms_letter():
    assert AUTOMATED is not None
    assert [(s.dpd, s.channel) for s in AUTOMATED.steps] == [(1, "sms"), (3, "email"), (7, "sms"), (15, "letter")]


def test_phone_queues_get_a_pre_call_sms_and_recovery_no_dunning():
    for queue in ("phone", "senior", "field"):
        ladder = ladder_for(LADDERS, queue=queue, bucket="M2")
        assert ladder is not None
        assert [(s.channel, s.template) for s in ladder.steps] == [("sms", "dunning-pre-call")]
    assert ladder_for(LADDERS, queue="recovery", bucket="M6+") is None


def test_a_ladder_for_the_bucket_wins_over_the_queue_wide_one():
    m2 = Ladder("automated", "M2", (DunningStep(2, "email", "dunning-reminder"),))
    ladders = merge_ladders(LADDERS, [m2])
    assert ladder_for(ladders, queue="automated", bucket="M2") == m2
    assert ladder_for(ladders, queue="automated", bucket="M1") == AUTOMATED


def test_a_stored_ladder_replaces_the_default_of_its_queue_and_bucket():
    off = Ladder("automated", "*", ())
    ladders = merge_ladders(LADDERS, [off])
    assert ladder_for(ladders, queue="automated", bucket="M1") == off
    assert len(ladders) == len(LADDERS)


def test_the_step_reached_is_planned_once_and_skipped_steps_are_not_sent_late():
    assert AUTOMATED is not None
    assert next_step(AUTOMATED, dpd=0, sent=[]) is None
    assert next_step(AUTOMATED, dpd=1, sent=[]) == DunningStep(1, "sms", "dunning-overdue")
    assert next_step(AUTOMATED, dpd=2, sent=[1]) is None
    assert next_step(AUTOMATED, dpd=3, sent=[1]) == DunningStep(3, "email", "dunning-overdue")
    # A case that reaches the ladder at DPD 20 gets the letter only.
    assert next_step(AUTOMATED, dpd=20, sent=[]) == DunningStep(15, "letter", "dunning-notice")
    assert next_step(AUTOMATED, dpd=20, sent=[15]) is None


def test_dunning_stops_when_paid_closed_or_promised():
    assert stop_reason(loan_status="active", dpd=4, promise_active=False) is None
    assert stop_reason(loan_status="active", dpd=0, promise_active=False) == "loan_paid"
    assert stop_reason(loan_status="closed", dpd=4, promise_active=False) == "loan_closed"
    assert stop_reason(loan_status="written_off", dpd=200, promise_active=False) == "loan_closed"
    assert stop_reason(loan_status="active", dpd=4, promise_active=True) == "promise_active"


def test_dpd_advances_a_day_a_day_from_the_last_state():
    assert dpd_on(dpd=1, as_of=date(2026, 3, 6), day=date(2026, 3, 8)) == 3
    assert dpd_on(dpd=1, as_of=date(2026, 3, 6), day=date(2026, 3, 6)) == 1
    assert dpd_on(dpd=0, as_of=date(2026, 3, 6), day=date(2026, 3, 9)) == 0
    assert dpd_on(dpd=5, as_of=None, day=date(2026, 3, 9)) == 5


def test_a_step_keeps_its_channel_unless_refused_or_unreachable():
    reach = {"sms": "+86138", "email": "a@b.cn", "app_push": None, "letter": "1 Road, Shanghai"}
    assert dunning_channel("letter", consents={}, recipients=reach) == ("letter", "1 Road, Shanghai")
    assert dunning_channel("email", consents={"email": False}, recipients=reach) == ("sms", "+86138")
    assert dunning_channel("letter", consents={}, recipients=reach | {"letter": None}) == ("sms", "+86138")
    assert dunning_channel("sms", consents={"sms": False, "email": False}, recipients=reach) == (None, None)


def test_every_dunning_template_reads_in_chinese_and_english():
    facts = DunningFacts(loan_id="L-1", dpd=3, overdue=D("1020"), currency="CNY")
    for template in DUNNING_TEMPLATES:
        zh = render_dunning(facts, template=template, language="zh-CN")
        en = render_dunning(facts, template=template, language="fr")
        assert (zh.language, en.language) == ("zh-CN", "en")
        assert "3 天" in zh.body and "1,020.00 CNY" in zh.body
        assert "3 days past due" in en.body and "L-1" in en.subject
