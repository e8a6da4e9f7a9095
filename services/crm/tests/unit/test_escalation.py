"""Case escalation decisions (docs/domain.md)."""

from __future__ import annotations

from decimal import Decimal as D

from postloan_common.contracts.crm import CollectionQueue as Q
from postloan_crm.domain.escalation import case_queue, collected_after, move_kind, opens_case


def test_a_case_opens_only_when_the_strategy_gives_a_queue_and_opening_is_allowed():
    assert opens_case(Q.PHONE, may_open=True)
    assert not opens_case(None, may_open=True)
    assert not opens_case(Q.PHONE, may_open=False)


def test_a_bucket_move_follows_the_strategy_both_ways():
    assert case_queue(current="phone", proposed=Q.SENIOR, escalate_only=False) == "senior"
    assert case_queue(current="senior", proposed=Q.PHONE, escalate_only=False) == "phone"


def test_escalate_only_never_softens_the_case():
    assert case_queue(current="senior", proposed=Q.PHONE, escalate_only=True) == "senior"
    assert case_queue(current="phone", proposed=Q.PHONE, escalate_only=True) == "phone"
    assert case_queue(current="automated", proposed=Q.PHONE, escalate_only=True) == "phone"


def test_no_queue_from_the_strategy_leaves_the_case_where_it_is():
    assert case_queue(current="field", proposed=None, escalate_only=False) == "field"


def test_moves_are_named_by_their_direction():
    assert move_kind(from_queue="phone", to_queue="senior") == "escalated"
    assert move_kind(from_queue="senior", to_queue="automated") == "de-escalated"


def test_collected_money_never_goes_negative():
    assert collected_after(D("100.00"), D("-30.00")) == D("70.00")
    assert collected_after(D("10.00"), D("-30.00")) == D("0.00")
