"""Masking of personal data."""

from __future__ import annotations

from postloan_common.web import Principal, can_read_pii, mask_email, mask_national_id, mask_phone


def test_national_id_18_keeps_first_6_and_last_4():
    assert mask_national_id("110101199003071234") == "110101********1234"


def test_short_national_id_keeps_last_2():
    assert mask_national_id("110101900307123") == "*************23"
    assert mask_national_id("12") == "**"


def test_phone_keeps_country_code_first_3_and_last_4():
    assert mask_phone("+8613800138000") == "+86138****8000"
    assert mask_phone("+1 415-555-2671") == "+1415***2671"
    assert mask_phone("13800138000") == "138****8000"


def test_short_phone_keeps_last_2():
    assert mask_phone("+86 12345") == "+86***45"


def test_email_keeps_first_char_and_domain():
    assert mask_email("zhang@example.com") == "z***@example.com"
    assert mask_email("nonsense") == "***"


def test_can_read_pii():
    assert can_read_pii(Principal.of(subject="s", roles=["admin"]))
    assert can_read_pii(Principal.of(subject="s", roles=["supervisor"]))
    assert not can_read_pii(Principal.of(subject="s", roles=["collector"]))
