"""Telephony rules: signed callbacks and dialled numbers (docs/domain.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from postloan_crm.domain.telephony import callback_refusal, dialled_number, signature

SECRET = "s3cret"
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
BODY = b'{"connected": true, "duration_s": 60, "outcome": "right_party_contact"}'


def stamp(at: datetime) -> str:
    return str(int(at.timestamp()))


def test_a_well_signed_fresh_callback_is_authentic():
    ts = stamp(NOW - timedelta(seconds=30))
    assert (
        callback_refusal(SECRET, given=signature(SECRET, timestamp=ts, body=BODY), timestamp=ts, body=BODY, now=NOW)
        is None
    )


def test_missing_bad_tampered_and_replayed_callbacks_are_refused():
    ts = stamp(NOW)
    good = signature(SECRET, timestamp=ts, body=BODY)
    assert callback_refusal(SECRET, given=None, timestamp=ts, body=BODY, now=NOW) == "the callback is not signed"
    assert "does not match" in callback_refusal(SECRET, given="00" * 32, timestamp=ts, body=BODY, now=NOW)
    assert "does not match" in callback_refusal(SECRET, given=good, timestamp=ts, body=BODY + b" ", now=NOW)
    assert "does not match" in callback_refusal("other", given=good, timestamp=ts, body=BODY, now=NOW)
    old = stamp(NOW - timedelta(minutes=6))
    replay = signature(SECRET, timestamp=old, body=BODY)
    assert "replay" in callback_refusal(SECRET, given=replay, timestamp=old, body=BODY, now=NOW)
    assert "Unix time" in callback_refusal(SECRET, given=good, timestamp="yesterday", body=BODY, now=NOW)


def test_a_call_dials_only_a_phone_the_customer_has():
    phones = ["+8613800138000", "+862150000000"]
    assert dialled_number(phones, 1) == "+862150000000"
    assert dialled_number(phones, 2) is None
    assert dialled_number(phones, -1) is None
