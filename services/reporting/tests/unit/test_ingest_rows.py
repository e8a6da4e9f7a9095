"""How a run of events collapses into one row per key, as the same events one after another would leave it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from postloan_reporting.service.ingest.changes import Changes as _Changes
from postloan_reporting.store.upserts import CASE_CLOSED as _CASE_CLOSED
from postloan_reporting.store.upserts import REMINDER as _REMINDER
from postloan_reporting.store.upserts import SCORE as _SCORE


def test_rows_of_one_key_keep_the_first_insert_and_the_last_update() -> None:
    arm = ("m1", "hold", "control")
    first = ("K1", 1, "unknown", date(2026, 3, 1), date(2026, 3, 1), "cured", D("10.00"), *arm)
    again = ("K1", 2, "phone", date(2026, 3, 5), date(2026, 3, 5), "paid", D("20.00"), None, None, None)
    other = ("K2", 3, "unknown", date(2026, 3, 2), date(2026, 3, 2), "cured", D("5.00"), None, None, None)
    # Only closed_on, close_reason and amount_collected change when the case exists: the arm stays.
    assert _CASE_CLOSED.collapse([first, other, again]) == [
        ("K1", 1, "unknown", date(2026, 3, 1), date(2026, 3, 5), "paid", D("20.00"), *arm),
        other,
    ]
    assert _SCORE.collapse([(7, 500, D("0.1"), "C", "m1", None), (7, 650, D("0.05"), "B", "m2", None)]) == [
        (7, 650, D("0.05"), "B", "m2", None)
    ]
    assert _REMINDER.collapse([("M1", 7, "sms", date(2026, 2, 1)), ("M1", 7, "email", date(2026, 2, 2))]) == [
        ("M1", 7, "sms", date(2026, 2, 1))
    ]


def test_installment_rows_merge_like_one_upsert_after_another() -> None:
    changes = _Changes(keys={})
    changes.installment(7, 1, due_date=None, amount=None, reminded_on=date(2026, 2, 2))
    changes.installment(7, 1, due_date=date(2026, 2, 5), amount=D("700.00"))
    changes.installment(7, 1, due_date=date(2026, 2, 6), amount=D("1.00"), missed=True)
    changes.installment(7, 1, due_date=None, amount=None, reminded_on=date(2026, 1, 29))
    [row] = changes.installments.values()
    assert (row.due_date, row.amount_due, row.missed, row.reminded_on) == (
        date(2026, 2, 5),
        D("700.00"),
        True,
        date(2026, 1, 29),
    )
