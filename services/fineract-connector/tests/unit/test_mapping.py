"""The Fineract → postloan mapping on records encoded from the real schemas, both release lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from postloan_fineract_connector.domain.mapping import MappingError, MappingOptions, classify, map_message
from postloan_fineract_connector.domain.messages import read_message

OPTIONS = MappingOptions()
RELEASES = ["1.9.0", "1.10.1", "1.12.1", "1.13.0"]


def mapped(records, *args, **kwargs):
    raw = records.message(*args, **kwargs)
    return map_message(read_message(raw, records.store, lambda t: classify(t, OPTIONS) == "mapped"), OPTIONS)


@pytest.mark.parametrize("release", RELEASES)
def test_disbursal_books_the_loan_with_its_schedule(records, release):
    (out,) = mapped(records, "LoanDisbursalBusinessEvent", records.LOAN, records.loan_account(), release=release)
    assert out.topic == "core-banking.loans"
    env = out.envelope
    assert (env.type, env.subject, env.source) == ("loan-booked", "fineract:default:7", "fineract-connector")
    data = env.data
    assert data["customer_id"] == "fineract:default:client:3"
    assert (data["product"], data["branch"], data["currency"]) == ("PL12", "office-1", "CNY")
    assert (data["principal"], data["annual_rate"], data["disbursed_on"]) == ("3000.00", "0.120000", "2026-01-05")
    assert [(i["seq"], i["due_date"], i["principal"], i["interest"]) for i in data["installments"]] == [
        (1, "2026-02-05", "980.00", "30.00"),
        (2, "2026-03-05", "990.00", "20.00"),
        (3, "2026-04-05", "1030.00", "10.00"),
    ]
    assert env.business_date == date(2026, 2, 5)


def test_product_falls_back_to_its_id(records):
    loan = records.loan_account(product=None)
    (out,) = mapped(records, "LoanDisbursalBusinessEvent", records.LOAN, loan)
    assert out.envelope.data["product"] == "product-4"


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("event_type", ["ClientCreateBusinessEvent", "ClientActivateBusinessEvent"])
def test_client_events_upsert_the_customer(records, release, event_type):
    (out,) = mapped(records, event_type, records.CLIENT, records.client(), release=release)
    assert out.topic == "core-banking.customers"
    data = out.envelope.data
    assert data["customer_id"] == out.envelope.subject == "fineract:default:client:3"
    assert (data["name"], data["national_id"], data["birth_date"]) == ("Li Wei", "ID-3", "1990-04-01")
    assert data["phones"] == [{"number": "+8613800000000", "kind": "mobile"}]
    assert data["emails"] == []


def test_a_client_without_contact_data_is_still_upserted(records):
    bare = {"id": 9, "firstname": "A", "lastname": "B", "mobileNo": "n/a"}
    (out,) = mapped(records, "ClientCreateBusinessEvent", records.CLIENT, bare)
    assert out.envelope.data["phones"] == [] and out.envelope.data["national_id"] == "9"


@pytest.mark.parametrize(
    ("event_type", "code"),
    [
        ("LoanTransactionMakeRepaymentPostBusinessEvent", "repayment"),
        ("LoanTransactionDownPaymentPostBusinessEvent", "downPayment"),
        ("LoanTransactionRecoveryPaymentPostBusinessEvent", "recoveryRepayment"),
        ("LoanTransactionGoodwillCreditPostBusinessEvent", "goodwillCredit"),
    ],
)
def test_money_in_transactions_post_repayments(records, event_type, code):
    (out,) = mapped(records, event_type, records.TXN, records.transaction(code=code))
    data = out.envelope.data
    assert out.envelope.type == "repayment-posted"
    assert (data["loan_id"], data["repayment_id"]) == ("fineract:default:7", "fineract:default:txn:11")
    assert (data["amount"], data["value_date"], data["channel"], data["currency"]) == (
        "1010.00",
        "2026-02-05",
        "Money Transfer",
        "CNY",
    )


def test_a_bank_can_stop_counting_goodwill_credit(records):
    options = MappingOptions(repayment_events=frozenset({"LoanTransactionMakeRepaymentPostBusinessEvent"}))
    raw = records.message("LoanTransactionGoodwillCreditPostBusinessEvent", records.TXN, records.transaction())
    assert map_message(read_message(raw, records.store, lambda t: True), options) == []
    assert classify("LoanTransactionGoodwillCreditPostBusinessEvent", options) == "skipped"


@pytest.mark.parametrize(
    ("release", "flags"),
    [
        ("1.10.1", {"manuallyReversed": True}),
        ("1.10.1", {"reversedOnDate": "2026-02-06"}),
        ("1.13.0", {"reversed": True}),
    ],
)
def test_a_repayment_already_reversed_in_fineract_posts_nothing(records, release, flags):
    txn = records.transaction(**flags)
    assert mapped(records, "LoanTransactionMakeRepaymentPostBusinessEvent", records.TXN, txn, release=release) == []
    live = records.transaction(reversed=False) if release == "1.13.0" else records.transaction()
    (out,) = mapped(records, "LoanTransactionMakeRepaymentPostBusinessEvent", records.TXN, live, release=release)
    assert out.envelope.type == "repayment-posted"


def test_reversing_a_repayment_is_repayment_reversed(records):
    old = records.transaction(manuallyReversed=True, reversedOnDate="2026-02-07")
    (out,) = mapped(records, "LoanAdjustTransactionBusinessEvent", records.ADJUST, {"transactionToAdjust": old})
    data = out.envelope.data
    assert out.envelope.type == "repayment-reversed"
    assert (data["repayment_id"], data["reversed_on"]) == ("fineract:default:txn:11", "2026-02-07")


def test_adjusting_a_repayment_reverses_it_and_posts_the_new_one(records):
    adjustment = {
        "transactionToAdjust": records.transaction(),
        "newTransactionDetail": records.transaction(txn=12, amount="500"),
    }
    outs = mapped(records, "LoanAdjustTransactionBusinessEvent", records.ADJUST, adjustment)
    assert [o.envelope.type for o in outs] == ["repayment-reversed", "repayment-posted"]
    assert outs[1].envelope.data["amount"] == "500.00"
    assert outs[0].envelope.id != outs[1].envelope.id


def test_adjusting_another_transaction_maps_to_nothing(records):
    adjustment = {"transactionToAdjust": records.transaction(code="accrual")}
    assert mapped(records, "LoanAdjustTransactionBusinessEvent", records.ADJUST, adjustment) == []


@pytest.mark.parametrize(
    ("event_type", "code", "reason"),
    [
        ("LoanWrittenOffPostBusinessEvent", "writeOff", "written off in Fineract"),
        ("LoanChargeOffPostBusinessEvent", "chargeOff", "charged off in Fineract"),
    ],
)
def test_write_off_and_charge_off(records, event_type, code, reason):
    txn = records.transaction(code=code, amount="2020.00", interestPortion=D("30"))
    (out,) = mapped(records, event_type, records.TXN, txn)
    data = out.envelope.data
    assert out.envelope.type == "loan-written-off"
    assert (data["principal"], data["interest"], data["fee"], data["reason"]) == ("2020.00", "30.00", "0.00", reason)


@pytest.mark.parametrize(
    "event_type",
    ["LoanReAgeBusinessEvent", "LoanReAmortizeBusinessEvent", "LoanRescheduledDueAdjustScheduleBusinessEvent"],
)
def test_restructurings_carry_the_new_open_schedule(records, event_type):
    loan = records.loan_account()
    loan["repaymentSchedule"]["periods"][1]["complete"] = True
    (out,) = mapped(records, event_type, records.LOAN, loan, business_date="2026-02-10")
    data = out.envelope.data
    assert out.envelope.type == "loan-restructured"
    assert data["restructured_on"] == "2026-02-10"
    assert [(i["due_date"], i["principal"]) for i in data["installments"]] == [
        ("2026-03-05", "990.00"),
        ("2026-04-05", "1030.00"),
    ]
    assert data["outstanding_principal"] == "2020.00"


def test_more_places_than_the_currency_allows_is_refused_never_rounded(records):
    txn = records.transaction(amount="10.005")
    with pytest.raises(MappingError, match="amount has more decimal places than the currency's 2"):
        mapped(records, "LoanTransactionMakeRepaymentPostBusinessEvent", records.TXN, txn)


def test_a_currency_with_zero_places(records):
    jpy = {"code": "JPY", "decimalPlaces": 0}
    (out,) = mapped(
        records,
        "LoanTransactionMakeRepaymentPostBusinessEvent",
        records.TXN,
        records.transaction(amount="1000", currency=jpy),
    )
    assert out.envelope.data["amount"] == "1000"
    with pytest.raises(MappingError, match="currency's 0"):
        mapped(
            records,
            "LoanTransactionMakeRepaymentPostBusinessEvent",
            records.TXN,
            records.transaction(amount="1000.50", currency=jpy),
        )


def test_missing_fields_are_mapping_errors_naming_the_field(records):
    with pytest.raises(MappingError, match=r"timeline\.actualDisbursementDate is missing"):
        mapped(records, "LoanDisbursalBusinessEvent", records.LOAN, records.loan_account(timeline=None))


@pytest.mark.parametrize(
    "event_type",
    [
        "LoanRepaymentDueBusinessEvent",
        "LoanRepaymentOverdueBusinessEvent",
        "LoanDelinquencyRangeChangeBusinessEvent",
        "LoanAccountSnapshotBusinessEvent",
        "LoanAccrualTransactionCreatedBusinessEvent",
        "SomethingNew",
    ],
)
def test_informational_and_unknown_types_are_skipped(event_type):
    assert classify(event_type, OPTIONS) == "skipped"


def test_ids_are_deterministic_per_idempotency_key(records):
    first = mapped(records, "LoanDisbursalBusinessEvent", records.LOAN, records.loan_account(), key="k-1")
    again = mapped(records, "LoanDisbursalBusinessEvent", records.LOAN, records.loan_account(), key="k-1")
    other = mapped(records, "LoanDisbursalBusinessEvent", records.LOAN, records.loan_account(), key="k-2")
    assert first[0].envelope.id == again[0].envelope.id != other[0].envelope.id


def test_bulk_items_map_in_order_with_distinct_ids(records):
    raw = records.bulk(
        [
            ("LoanTransactionMakeRepaymentPostBusinessEvent", records.TXN, records.transaction()),
            ("LoanRepaymentDueBusinessEvent", records.LOAN, records.loan_account()),
            ("LoanTransactionMakeRepaymentPostBusinessEvent", records.TXN, records.transaction(txn=12)),
        ],
        release="1.13.0",
    )
    outs = map_message(read_message(raw, records.store, lambda t: classify(t, OPTIONS) == "mapped"), OPTIONS)
    assert [o.envelope.data["repayment_id"] for o in outs] == ["fineract:default:txn:11", "fineract:default:txn:12"]
    assert outs[0].envelope.id != outs[1].envelope.id


def test_tenant_is_part_of_every_id(records):
    (out,) = mapped(records, "LoanDisbursalBusinessEvent", records.LOAN, records.loan_account(), tenant="bank2")
    assert out.envelope.data["loan_id"] == "fineract:bank2:7"
    assert out.envelope.data["customer_id"] == "fineract:bank2:client:3"
