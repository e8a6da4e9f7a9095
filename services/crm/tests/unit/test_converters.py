"""crm's converters between stored rows, request bodies and domain values, and its page split."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal as D

from postloan_crm.domain.contact_policy import ContactPolicy, Counting
from postloan_crm.service.policies import policy_of, policy_values
from postloan_crm.service.reminders import reminder_facts
from postloan_crm.store.queries import split_page


def test_a_policy_goes_to_plain_values_and_back_unchanged():
    policy = ContactPolicy("US", "phone", time(21), time(8), 3, 7, 7, Counting.CONNECTED)
    values = policy_values(policy)
    assert values["counting"] == "connected"
    assert values["quiet_start"] == time(21)
    assert policy_of(values | {"updated_by": "someone"}) == policy


def test_reminder_facts_take_the_amount_due_and_the_days_given():
    stored = {
        "loan_id": "L-1",
        "installment_seq": 2,
        "amount_due": D("1020.00"),
        "currency": "CNY",
        "due_date": date(2026, 3, 5),
        "payment_reference": "PAY-L-1-2",
        "template": "ignored",
    }
    facts = reminder_facts(stored, days_before_due=0)
    assert (facts.amount, facts.days_before_due, facts.payment_reference) == (D("1020.00"), 0, "PAY-L-1-2")


def test_a_page_of_limit_plus_one_rows_ends_at_the_last_row_shown():
    rows = [{"id": i} for i in range(4)]
    assert split_page(rows, 3) == (rows[:3], {"id": 2})
    assert split_page(rows[:3], 3) == (rows[:3], None)
    assert split_page([], 3) == ([], None)
