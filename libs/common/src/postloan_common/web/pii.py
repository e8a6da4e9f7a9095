"""Masking of personal data for callers without `pii:read`."""

from __future__ import annotations

from postloan_common.web.auth import Permission, Principal

# E.164 country codes: 1 and 7 are one digit, these are two, every other code is three.
# fmt: off
_TWO_DIGIT_CODES = frozenset(
    {
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
        "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61",
        "62", "63", "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94",
        "95", "98",
    }
)
# fmt: on
_SEPARATORS = str.maketrans("", "", " -().")


def can_read_pii(principal: Principal) -> bool:
    """Whether `principal` may see national ids and phone numbers in clear."""
    return principal.has(Permission.PII_READ)


def mask_national_id(value: str) -> str:
    """Keep the first 6 and last 4 characters of an 18-character id, else only the last 2."""
    if len(value) == 18:
        return value[:6] + "*" * 8 + value[-4:]
    return _keep_tail(value, 2)


def mask_phone(value: str) -> str:
    """Keep the country code, the first 3 and the last 4 digits: `+86138****8000`."""
    compact = value.translate(_SEPARATORS)
    prefix, number = "", compact
    if compact.startswith("+"):
        code = _country_code(compact[1:])
        prefix, number = f"+{code}", compact[1 + len(code) :]
    if len(number) < 8:
        return prefix + _keep_tail(number, 2)
    return prefix + number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_email(value: str) -> str:
    """Keep the first character of the local part and the domain: `z***@example.com`."""
    local, at, domain = value.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def _country_code(digits: str) -> str:
    if digits[:1] in ("1", "7"):
        return digits[:1]
    if digits[:2] in _TWO_DIGIT_CODES:
        return digits[:2]
    return digits[:3]


def _keep_tail(value: str, keep: int) -> str:
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]
