"""The old/new diff every audited update records: only changed fields, JSON-storable, PII masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

from pydantic import BaseModel

from postloan_common.audit import changes
from postloan_common.web.pii import mask_national_id, mask_phone


class Status(Enum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Phone:
    number: str


def test_only_changed_fields_are_returned_each_with_old_and_new():
    old = {"a": 1, "b": "x", "c": [1, 2]}
    new = {"a": 1, "b": "y", "c": [1, 2]}
    assert changes(old, new) == {"b": {"old": "x", "new": "y"}}


def test_no_change_is_an_empty_diff():
    assert changes({"a": Decimal("1.50")}, {"a": Decimal("1.50")}) == {}


def test_a_field_added_or_removed_counts_against_none_and_no_old_is_a_create():
    assert changes({"a": 1}, {"b": 2}) == {"a": {"old": 1, "new": None}, "b": {"old": None, "new": 2}}
    assert changes(None, {"a": 1}) == {"a": {"old": None, "new": 1}}


def test_values_are_made_json_storable():
    old = {"m": Decimal("1.00"), "d": date(2026, 1, 2), "s": Status.OPEN, "p": (Phone("1"),), "w": frozenset({3, 1})}
    new = {"m": Decimal("2.50"), "d": date(2026, 1, 3), "s": Status.CLOSED, "p": (Phone("2"),), "w": frozenset({2})}
    assert changes(old, new) == {
        "m": {"old": "1.00", "new": "2.50"},
        "d": {"old": "2026-01-02", "new": "2026-01-03"},
        "s": {"old": "open", "new": "closed"},
        "p": {"old": [{"number": "1"}], "new": [{"number": "2"}]},
        "w": {"old": [1, 3], "new": [2]},
    }


def test_masked_fields_are_masked_on_both_sides_and_never_in_clear():
    old = {"national_id": "110101199003074514", "phone": "+8613800138000", "segment": "retail"}
    new = {"national_id": "110101199003071234", "phone": "+8613900139000", "segment": "retail"}
    diff = changes(old, new, masked={"national_id": mask_national_id, "phone": mask_phone})
    assert diff == {
        "national_id": {"old": "110101********4514", "new": "110101********1234"},
        "phone": {"old": "+86138****8000", "new": "+86139****9000"},
    }
    assert "110101199003074514" not in repr(diff)


def test_a_change_the_mask_hides_is_still_recorded_and_none_stays_none():
    diff = changes(
        {"n": "AB12", "x": None},
        {"n": "CD12", "x": "secret"},
        masked={"n": lambda v: "**" + v[-2:], "x": lambda v: "***"},
    )
    assert diff == {"n": {"old": "**12", "new": "**12"}, "x": {"old": None, "new": "***"}}


class Terms(BaseModel):
    months: int
    fee: Decimal


def test_pydantic_models_are_compared_and_stored_as_their_json_form():
    diff = changes({"t": Terms(months=6, fee=Decimal("1.5"))}, {"t": Terms(months=12, fee=Decimal("1.5"))})
    assert diff == {"t": {"old": {"months": 6, "fee": "1.5"}, "new": {"months": 12, "fee": "1.5"}}}
