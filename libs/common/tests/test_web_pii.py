"""Masking of personal data."""

from __future__ import annotations

import pytest

from postloan_common.web import Principal, can_read_pii, mask_email, mask_national_id, mask_phone


@pytest.mark.parametrize(
    ("mask", "value", "masked"),
    [
        pytest.param(mask_national_id, "110101199003071234", "110101********1234", id="national-id-18-first-6-last-4"),
        pytest.param(mask_national_id, "110101900307123", "*************23", id="short-national-id-last-2"),
        pytest.param(mask_national_id, "12", "**", id="tiny-national-id"),
        pytest.param(mask_phone, "+8613800138000", "+86138****8000", id="phone-country-code-first-3-last-4"),
        pytest.param(mask_phone, "+1 415-555-2671", "+1415***2671", id="phone-with-separators"),
        pytest.param(mask_phone, "13800138000", "138****8000", id="phone-without-country-code"),
        pytest.param(mask_phone, "+86 12345", "+86***45", id="short-phone-last-2"),
        pytest.param(mask_email, "zhang@example.com", "z***@example.com", id="email-first-char-and-domain"),
        pytest.param(mask_email, "nonsense", "***", id="not-an-email"),
    ],
)
def test_masking_keeps_only_the_agreed_characters(mask, value, masked):
    assert mask(value) == masked


def test_can_read_pii():
    assert can_read_pii(Principal.of(subject="s", roles=["admin"]))
    assert can_read_pii(Principal.of(subject="s", roles=["supervisor"]))
    assert not can_read_pii(Principal.of(subject="s", roles=["collector"]))
