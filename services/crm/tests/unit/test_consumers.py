"""crm's handlers one at a time: their decisions as pure functions, their wiring with fake services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from crm_testkit import classified, closed, customer, loan, missed, moved, received, score

from postloan_common.contracts import (
    ClassificationChangedV1,
    DelinquencyChangedV1,
    LoanClosedV1,
    PaymentMissedV1,
    PaymentReceivedV1,
    PaymentReversedV1,
    RiskScoreChangedV1,
)
from postloan_common.contracts.crm import CaseCloseReason
from postloan_common.messaging.consumer import PermanentError
from postloan_common.messaging.parsing import parse_data
from postloan_crm import consumers
from postloan_crm.consumers import customers as customer_handlers
from postloan_crm.consumers import loans as loan_handlers
from postloan_crm.consumers.common import latest_business_date, parse_run
from postloan_crm.consumers.delinquency import changed_states, loan_said, missed_state
from postloan_crm.consumers.loans import closing
from postloan_crm.consumers.payments import loan_after
from postloan_crm.consumers.risk import classification_said, pd_said
from postloan_crm.domain.strategy import StrategyTable

ON = date(2026, 3, 6)


def test_every_consumed_type_has_its_own_handler():
    batch = consumers.build_batch_handlers(strategy=StrategyTable())
    one = consumers.build_handlers(strategy=StrategyTable())
    assert set(one) == set(batch) | {"day-closed"}
    assert len({type(h) for h in batch.values()}) == len(batch) == 14


def test_a_bad_event_in_a_run_is_refused_for_good():
    good = missed()
    bad = missed()
    bad.data["dpd"] = "many"
    with pytest.raises(PermanentError, match="does not match its contract"):
        parse_run([good, bad], PaymentMissedV1)


def test_an_event_of_another_type_is_refused():
    with pytest.raises(PermanentError, match="is not a LoanClosedV1"):
        parse_run([missed()], LoanClosedV1)


def test_the_run_carries_its_latest_business_date():
    assert latest_business_date([missed(on=date(2026, 3, 6)), missed(on=date(2026, 3, 8)), loan()]) == date(2026, 3, 8)
    assert latest_business_date([]) is None


def test_written_off_loans_keep_their_dpd_and_close_their_case_as_written_off():
    settled = parse_data(closed("L-1", "C-1", ON), LoanClosedV1)
    event = LoanClosedV1.model_validate(settled.model_dump(mode="json") | {"reason": "written_off"})
    assert closing(event) == loan_handlers.Closing("written_off", None, CaseCloseReason.WRITTEN_OFF)
    assert closing(settled) == loan_handlers.Closing("closed", 0, CaseCloseReason.LOAN_CLOSED)


def test_a_payment_says_the_loan_state_after_it_and_a_reversal_leaves_the_currency_alone():
    event = parse_data(received(amount="100.00", value_date=ON, dpd=4, bucket="M1", overdue="20.00"), PaymentReceivedV1)
    said = loan_after(event, as_of=ON)
    assert said == {
        "customer_id": "C-77",
        "dpd": 4,
        "bucket": "M1",
        "overdue": D("20.00"),
        "outstanding": D("1000.00"),
        "as_of": ON,
        "currency": "CNY",
    }
    reversal = PaymentReversedV1.model_validate(
        event.model_dump(mode="json") | {"reversed_on": ON.isoformat(), "reason": "bounced"}
    )
    assert "currency" not in loan_after(reversal, as_of=ON)


def test_a_missed_installment_says_the_bucket_and_a_move_also_the_overdue_and_outstanding():
    miss = parse_data(missed(dpd=3, bucket="M1"), PaymentMissedV1)
    assert loan_said(miss, as_of=ON) == {
        "customer_id": "C-77",
        "dpd": 3,
        "bucket": "M1",
        "currency": "CNY",
        "as_of": ON,
    }
    move = parse_data(moved("L-1", "C-1", "M1", "M2", 35, ON), DelinquencyChangedV1)
    assert loan_said(move, as_of=None) == {
        "customer_id": "C-1",
        "dpd": 35,
        "bucket": "M2",
        "overdue": D("1020.00"),
        "outstanding": D("2000.00"),
        "currency": "CNY",
        "as_of": None,
    }


def test_a_score_says_the_pd_and_a_classification_its_new_class():
    assert pd_said(parse_data(score("L-1", "C-1", "0.35"), RiskScoreChangedV1)) == {"pd": D("0.35")}
    changed = parse_data(classified("L-1", "C-1", "substandard"), ClassificationChangedV1)
    assert classification_said(changed) == {"classification": "substandard"}


def test_a_move_back_to_current_is_left_to_loan_cured():
    runs = [moved("L-1", "C-1", "M1", "M2", 35, ON), moved("L-2", "C-2", "M1", "M0", 0, ON)]
    events = [(parse_data(e, DelinquencyChangedV1), e) for e in runs]
    states = changed_states(events)
    assert [(s.loan_id, s.bucket, s.dpd) for s, _ in states] == [("L-1", "M2", 35)]


def test_a_missed_installment_is_a_delinquent_state():
    state = missed_state(parse_data(missed(dpd=3, bucket="M1"), PaymentMissedV1))
    assert (state.bucket, state.dpd, state.overdue, state.currency) == ("M1", 3, D("1020.00"), "CNY")


async def test_customers_upserted_hands_every_record_of_the_run_to_the_customer_service(monkeypatch):
    seen: list[Any] = []

    async def fake_upsert(session: Any, *, records: Any, source: str) -> None:
        seen.append((session, [r.customer_id for r in records], source))

    monkeypatch.setattr(customer_handlers, "upsert_customers", fake_upsert)
    await customer_handlers.CustomersUpserted()("session", [customer("C-1"), customer("C-2")])  # type: ignore[arg-type]
    assert seen == [("session", ["C-1", "C-2"], "event")]


async def test_loans_registered_notes_the_business_date_and_registers_the_run(monkeypatch):
    calls: list[Any] = []

    async def fake_note(session: Any, *, business_date: date | None) -> None:
        calls.append(("date", business_date))

    async def fake_register(session: Any, *, registered: Any) -> None:
        calls.append(("loans", [(e.loan_id, d) for e, d in registered]))

    monkeypatch.setattr(loan_handlers, "note_business_date", fake_note)
    monkeypatch.setattr(loan_handlers.projections, "register_loans", fake_register)
    await loan_handlers.LoansRegistered()("session", [loan("L-1"), loan("L-2")])  # type: ignore[arg-type]
    assert calls == [("date", date(2026, 1, 5)), ("loans", [("L-1", date(2026, 1, 5)), ("L-2", date(2026, 1, 5))])]
