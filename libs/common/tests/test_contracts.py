"""The event contracts: registry, envelope round trip, money handling and schema compatibility."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from postloan_common.contracts import (
    CONTRACTS,
    TOPIC_OF,
    CustomerUpsertedV1,
    LoanBookedV1,
    PaymentReceivedV1,
    RepaymentPostedV1,
    UnknownContract,
    contract_for,
    latest_version,
    make_envelope,
    parse_data,
    schema_export,
)
from postloan_common.contracts.common import EventData
from postloan_common.contracts.schema_export import check_compatible, export_schemas, schema_filename
from postloan_common.messaging.envelope import Envelope

REPO_SCHEMAS = Path(__file__).resolve().parents[3] / "contracts" / "schemas"

# The topic table of docs/architecture.md (Events), copied by hand.
ARCHITECTURE_TOPICS: dict[str, list[str]] = {
    "core-banking.loans": [
        "loan-booked",
        "repayment-posted",
        "repayment-reversed",
        "loan-restructured",
        "loan-written-off",
    ],
    "core-banking.customers": ["customer-upserted", "external-signal"],
    "core-banking.transactions": ["fund-moved"],
    "repayment.loans": [
        "loan-registered",
        "payment-due",
        "payment-received",
        "payment-reversed",
        "recovery-received",
        "payment-missed",
        "delinquency-changed",
        "loan-cured",
        "loan-closed",
        "loan-rescheduled",
        "day-closed",
    ],
    "risk.scores": [
        "risk-score-changed",
        "classification-changed",
        "risk-alert-raised",
        "risk-alert-resolved",
        "review-due",
        "review-overdue",
        "review-completed",
        "guarantee-registered",
        "collateral-coverage-changed",
    ],
    "crm.activities": [
        "reminder-sent",
        "contact-attempted",
        "promise-to-pay-made",
        "promise-kept",
        "promise-broken",
        "case-opened",
        "case-closed",
        "case-placed",
        "case-recalled",
    ],
}

# The request bodies integrators code against, verbatim (docs/architecture.md, REST).
LOAN_BODY: dict[str, Any] = {
    "loan_id": "L-1001", "customer_id": "C-77", "product": "consumer-12m", "branch": "SH01",
    "currency": "CNY", "principal": "3000.00", "annual_rate": "0.1200", "disbursed_on": "2026-01-05",
    "installments": [
        {"seq": 1, "due_date": "2026-02-05", "principal": "1000.00", "interest": "30.00", "fee": "0.00"},
        {"seq": 2, "due_date": "2026-03-05", "principal": "1000.00", "interest": "20.00", "fee": "0.00"},
        {"seq": 3, "due_date": "2026-04-05", "principal": "1000.00", "interest": "10.00", "fee": "0.00"},
    ],
}  # fmt: skip
REPAYMENT_BODY: dict[str, Any] = {
    "loan_id": "L-1001", "repayment_id": "R-9001", "amount": "1030.00", "value_date": "2026-02-05",
    "channel": "bank-transfer",
}  # fmt: skip
CUSTOMER_BODY: dict[str, Any] = {
    "customer_id": "C-77", "name": "张三", "national_id": "110101199003071234",
    "phones": [{"number": "+8613800138000", "kind": "mobile"}], "emails": ["zhang@example.com"],
    "timezone": "Asia/Shanghai", "language": "zh-CN",
}  # fmt: skip

LOAN = {"loan_id": "L-1001", "customer_id": "C-77"}
CASE = {**LOAN, "case_id": "K-1"}

# One realistic payload per registered contract (type, version).
SAMPLES: dict[tuple[str, int], dict[str, Any]] = {
    ("loan-booked", 1): LOAN_BODY,
    ("fund-moved", 1): {
        "flow_id": "F-1", "loan_id": "L-1001", "occurred_on": "2026-01-09", "direction": "out", "amount": "8000.00",
        "currency": "CNY", "counterparty": {"name": "Steel Supply Co", "account": "6222-01", "kind": "supplier"},
        "category": "5051", "channel": "cnaps",
    },
    ("repayment-posted", 1): {**REPAYMENT_BODY, "currency": "CNY"},
    ("payment-reversed", 1): {
        "loan_id": "L-1001", "customer_id": "C-77", "repayment_id": "R-9001", "amount": "1030.00",
        "currency": "CNY", "value_date": "2026-02-05", "reversed_on": "2026-02-07", "reason": "bounced debit",
        "outstanding_after": "3030.00", "overdue_after": "1030.00", "dpd_after": 2, "bucket_after": "M1",
    },
    ("loan-rescheduled", 1): {
        "loan_id": "L-1001", "customer_id": "C-77", "restructure_id": "RS-1", "restructured_on": "2026-05-01",
        "reason": "hardship", "outstanding_principal": "2000.00", "installment_count": 12,
        "first_due_date": "2026-06-05", "maturity_date": "2027-05-05", "dpd_before": 45, "bucket_before": "M2",
    },
    ("repayment-reversed", 1): {
        "loan_id": "L-1001", "repayment_id": "R-9001", "reason": "bounced debit", "reversed_on": "2026-02-07",
    },
    ("loan-restructured", 1): {
        "loan_id": "L-1001", "restructure_id": "RS-1", "restructured_on": "2026-05-10", "reason": "hardship",
        "outstanding_principal": "2000.00", "annual_rate": "0.08",
        "terms": {"method": "equal_principal", "months": 24, "first_due_date": "2026-06-10"},
    },
    ("loan-written-off", 1): {
        "loan_id": "L-1001", "written_off_on": "2027-01-31", "principal": "2000.00", "interest": "40.00",
        "fee": "0", "penalty": "123.45", "reason": "over 360 DPD, uncollectable",
    },
    ("customer-upserted", 1): {
        **CUSTOMER_BODY, "birth_date": "1990-03-07", "segment": "retail",
        "consents": [{"channel": "sms", "granted": False, "recorded_on": "2026-01-05"}],
        "related_parties": [{"name": "李四", "relation": "spouse", "phones": [{"number": "+8613900139000"}]}],
        "address": {"line1": "1 Renmin Rd", "city": "Shanghai", "country": "CN"}, "industry": "C3130",
    },
    ("external-signal", 1): {
        "signal_id": "S-1", "subject": "customer", "subject_id": "C-77", "source": "court-registry",
        "kind": "court_judgment", "severity": "high", "observed_on": "2026-03-02", "value": "250000.00",
        "details": {"case_id": "(2026)沪0101民初123号", "status": "open"},
    },
    ("loan-registered", 1): {
        **LOAN, "product": "consumer-12m", "branch": "SH01", "currency": "CNY", "principal": "3000.00",
        "annual_rate": "0.1200", "disbursed_on": "2026-01-05", "installment_count": 3,
        "first_due_date": "2026-02-05", "maturity_date": "2026-04-05",
    },
    ("payment-due", 1): {
        **LOAN, "installment_seq": 1, "due_date": "2026-02-05", "amount_due": "1030.00", "currency": "CNY",
        "days_before_due": 3, "payment_reference": "L-1001-1",
    },
    ("payment-received", 1): {
        **LOAN, "repayment_id": "R-9001", "amount": "1030.00", "currency": "CNY", "value_date": "2026-02-05",
        "allocation": {"penalty": "0", "fee": "0.00", "interest": "30.00", "principal": "1000.00",
                       "credit": "0.00"},
        "outstanding_after": "2000.00", "overdue_after": "0.00", "dpd_after": 0, "bucket_after": "M0",
    },
    ("payment-missed", 1): {
        **LOAN, "installment_seq": 2, "due_date": "2026-03-05", "amount_overdue": "1020.00",
        "currency": "CNY", "dpd": 1, "bucket": "M1",
    },
    ("delinquency-changed", 1): {
        **LOAN, "from_bucket": "M1", "to_bucket": "M2", "dpd": 31, "overdue_amount": "1020.00",
        "outstanding": "2000.00", "currency": "CNY",
    },
    ("loan-cured", 1): {
        **LOAN, "cured_on": "2026-04-20", "from_bucket": "M2", "previous_dpd": 46, "outstanding": "1000.00",
        "currency": "CNY",
    },
    ("loan-closed", 1): {**LOAN, "closed_on": "2026-04-05", "reason": "paid_off", "credit_balance": "0.50"},
    ("day-closed", 1): {
        "business_date": "2026-04-05", "partition": 2, "partitions": 6, "loans_processed": 1200,
        "payments_due": 40, "payments_missed": 3, "delinquency_changes": 5,
    },
    ("risk-score-changed", 1): {
        **LOAN, "score": 612, "pd": "0.0425", "grade": "C", "previous_score": 655, "previous_grade": "B",
        "model_version": "behav-2026.01", "reason_codes": ["max_dpd_6m", "broken_promises"],
    },
    ("classification-changed", 1): {
        **LOAN, "from_classification": "special_mention", "to_classification": "substandard",
        "previous_ifrs9_stage": 2, "ifrs9_stage": 3, "ecl": "1450.00", "dpd": 91, "reason": "dpd_floor",
    },
    ("risk-alert-raised", 1): {
        "alert_id": "A-1", "rule_id": "R-DEBT-RATIO", "severity": "high", "subject_type": "customer",
        "subject_id": "C-77", "customer_id": "C-77", "message": "debt ratio above 0.85",
    },
    ("risk-alert-resolved", 1): {
        "alert_id": "A-1", "rule_id": "R-DEBT-RATIO", "subject_type": "customer", "subject_id": "C-77",
        "resolution": "dismissed", "resolved_by": "risk.officer", "note": "restated accounts",
    },
    ("review-due", 1): {
        "review_id": "RV-1", "loan_id": "L-1", "customer_id": "C-1", "kind": "first", "reason": "first_review",
        "due_on": "2026-03-16", "assignee": None,
    },
    ("review-overdue", 1): {
        "review_id": "RV-1", "loan_id": "L-1", "customer_id": "C-1", "kind": "routine", "due_on": "2026-03-16",
        "assignee": "rm-1",
    },
    ("review-completed", 1): {
        "review_id": "RV-1", "loan_id": "L-1", "customer_id": "C-1", "kind": "triggered",
        "completed_on": "2026-03-18", "completed_by": "rm-1", "worst_finding": "breach",
        "recommendation": "reclassify", "alert_id": "A-9",
    },
    ("guarantee-registered", 1): {
        "guarantee_id": "G-1", "loan_id": "L-1", "customer_id": "C-1", "guarantor_customer_id": "C-2",
        "kind": "joint_and_several", "amount": "50000.00", "valid_until": "2027-01-01",
    },
    ("collateral-coverage-changed", 1): {
        "loan_id": "L-1", "customer_id": "C-1", "secured_value": "735000.00", "currency": "CNY",
    },
    ("reminder-sent", 1): {
        "reminder_id": "M-1", **LOAN, "channel": "sms", "template": "due-t3", "installment_seq": 1,
        "due_date": "2026-02-05", "amount_due": "1030.00", "currency": "CNY", "deferred": True,
    },
    ("contact-attempted", 1): {
        "interaction_id": "I-1", **CASE, "channel": "phone", "connected": True,
        "outcome": "promise_to_pay", "agent_id": "agent-7",
    },
    ("promise-to-pay-made", 1): {
        "promise_id": "P-1", **CASE, "interaction_id": "I-1", "amount": "500.00", "currency": "CNY",
        "promised_date": "2026-03-20", "agent_id": "agent-7",
    },
    ("promise-kept", 1): {
        "promise_id": "P-1", **CASE, "amount": "500.00", "amount_paid": "520.00", "currency": "CNY",
        "promised_date": "2026-03-20", "kept_on": "2026-03-19",
    },
    ("promise-broken", 1): {
        "promise_id": "P-1", **CASE, "amount": "500.00", "amount_paid": "100.00", "currency": "CNY",
        "promised_date": "2026-03-20",
    },
    ("case-opened", 1): {
        **CASE, "queue": "phone", "bucket": "M2", "dpd": 31, "overdue_amount": "1020.00", "currency": "CNY",
    },
    ("case-closed", 1): {
        **CASE, "reason": "cured", "closed_on": "2026-04-20", "amount_collected": "1020.00",
        "currency": "CNY",
    },
    ("case-placed", 1): {
        **CASE, "placement_id": "PL-1", "agency_id": "AG-1", "commission_rate": "0.15", "placed_on": "2026-06-01",
    },
    ("case-recalled", 1): {**CASE, "placement_id": "PL-1", "agency_id": "AG-1", "recalled_on": "2026-07-01"},
    ("recovery-received", 1): {
        **LOAN, "repayment_id": "R-9100", "amount": "500.00", "currency": "CNY", "value_date": "2026-09-01",
        "received_on": "2026-09-01", "channel": "agency",
    },
}  # fmt: skip


def _sample(key: tuple[str, int]) -> BaseModel:
    return contract_for(*key).model_validate(SAMPLES[key])


# --- registry ------------------------------------------------------------------------------------


def test_every_architecture_event_type_is_registered() -> None:
    expected = {t for types in ARCHITECTURE_TOPICS.values() for t in types}
    registered = {t for t, _ in CONTRACTS}
    assert expected - registered == set(), "catalogued event types without a contract"
    assert registered - expected == set(), "contracts for event types not in the catalogue"
    for type_ in expected:
        assert contract_for(type_, 1).event_type == type_  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("type_", "topic"), [(t, topic) for topic, types in ARCHITECTURE_TOPICS.items() for t in types]
)
def test_every_event_type_maps_to_its_topic(type_: str, topic: str) -> None:
    assert TOPIC_OF[type_] == topic


def test_contract_classes_declare_their_type_and_version() -> None:
    for (type_, version), model in CONTRACTS.items():
        assert issubclass(model, EventData)
        assert (model.event_type, model.event_version) == (type_, version)
        assert model.__name__.endswith(f"V{version}")
        assert model.model_config.get("frozen") is True
        assert model.model_config.get("extra") == "ignore"


def test_unknown_contract() -> None:
    with pytest.raises(UnknownContract, match="no contract"):
        contract_for("loan-booked", 99)
    with pytest.raises(UnknownContract):
        contract_for("no-such-event", 1)
    assert issubclass(UnknownContract, ValueError)
    assert latest_version("loan-booked") == 1
    with pytest.raises(UnknownContract):
        parse_data(Envelope(type="no-such-event", source="test", subject="x", data={}))


def test_make_envelope_rejects_unregistered_models() -> None:
    class NotAContract(BaseModel):
        x: int = 1

    with pytest.raises(UnknownContract):
        make_envelope(data=NotAContract(), source="test", subject="x")


# --- round trip ----------------------------------------------------------------------------------


def test_every_contract_has_a_sample() -> None:
    assert set(SAMPLES) == set(CONTRACTS)


@pytest.mark.parametrize("key", sorted(CONTRACTS), ids=lambda k: f"{k[0]}.v{k[1]}" if isinstance(k, tuple) else k)
def test_round_trip_through_envelope(key: tuple[str, int]) -> None:
    data = _sample(key)
    envelope = make_envelope(
        data=data,
        source="test",
        subject="L-1001",
        business_date=date(2026, 2, 5),
        correlation_id="corr-1",
        causation_id="cause-1",
    )
    assert (envelope.type, envelope.version) == key
    raw = envelope.to_bytes()
    back = Envelope.from_bytes(raw)
    assert back == envelope
    parsed = parse_data(back)
    assert type(parsed) is type(data)
    assert parsed == data
    # money never travels as a JSON number
    assert not _floats_in(json.loads(raw)["data"])


def _floats_in(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats_in(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats_in(v)]
    return []


def test_architecture_request_bodies_are_the_event_payloads() -> None:
    loan = LoanBookedV1.model_validate(LOAN_BODY)
    assert loan.principal == Decimal("3000.00")
    assert loan.installments is not None and len(loan.installments) == 3
    assert RepaymentPostedV1.model_validate(REPAYMENT_BODY).currency is None
    customer = CustomerUpsertedV1.model_validate(CUSTOMER_BODY)
    assert customer.phones[0].number == "+8613800138000"


def test_unknown_fields_are_ignored() -> None:
    payload = {**REPAYMENT_BODY, "added_later": {"anything": 1}}
    assert RepaymentPostedV1.model_validate(payload) == RepaymentPostedV1.model_validate(REPAYMENT_BODY)


@pytest.mark.parametrize("key", [("case-opened", 1), ("case-closed", 1)])
def test_case_events_carry_an_optional_experiment_arm(key: tuple[str, int]) -> None:
    model = contract_for(*key)
    old = model.model_validate(SAMPLES[key]).model_dump()  # an event from before experiments: no arm
    assert (old["experiment"], old["arm"]) == (None, None)
    armed = model.model_validate({**SAMPLES[key], "experiment": "m1-2026q4", "arm": "holdout"}).model_dump()
    assert (armed["experiment"], armed["arm"]) == ("m1-2026q4", "holdout")
    with pytest.raises(ValidationError):
        model.model_validate({**SAMPLES[key], "experiment": "m1", "arm": "has space"})


def test_loan_booked_needs_exactly_one_of_installments_and_terms() -> None:
    terms = {"method": "annuity", "months": 12, "first_due_date": "2026-02-05"}
    no_schedule = {k: v for k, v in LOAN_BODY.items() if k != "installments"}
    assert LoanBookedV1.model_validate({**no_schedule, "terms": terms}).terms is not None
    with pytest.raises(ValidationError, match="exactly one"):
        LoanBookedV1.model_validate(no_schedule)
    with pytest.raises(ValidationError, match="exactly one"):
        LoanBookedV1.model_validate({**LOAN_BODY, "terms": terms})
    with pytest.raises(ValidationError):
        LoanBookedV1.model_validate({**no_schedule, "terms": {**terms, "method": "balloon"}})
    with pytest.raises(ValidationError, match="unique"):
        LoanBookedV1.model_validate({**LOAN_BODY, "installments": LOAN_BODY["installments"][:1] * 2})


def test_customer_validation() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        CustomerUpsertedV1.model_validate({**CUSTOMER_BODY, "timezone": "Mars/Olympus"})
    with pytest.raises(ValidationError):
        CustomerUpsertedV1.model_validate({**CUSTOMER_BODY, "language": "fr"})
    with pytest.raises(ValidationError):
        CustomerUpsertedV1.model_validate({**CUSTOMER_BODY, "emails": ["not-an-email"]})


# --- money ---------------------------------------------------------------------------------------


def test_money_stays_decimal_exactly() -> None:
    sample = SAMPLES[("payment-received", 1)]
    payload = {**sample, "allocation": {**sample["allocation"], "fee": "0.10", "interest": "0.20"}}
    model = PaymentReceivedV1.model_validate(payload)
    envelope = Envelope.from_bytes(make_envelope(data=model, source="t", subject="L-1001").to_bytes())
    parsed = parse_data(envelope)
    assert isinstance(parsed, PaymentReceivedV1)
    assert isinstance(parsed.allocation.fee, Decimal)
    assert parsed.allocation.fee + parsed.allocation.interest == Decimal("0.30")
    assert envelope.data["allocation"]["fee"] == "0.10"
    assert envelope.data["amount"] == "1030.00"


@pytest.mark.parametrize("bad", [0.1, 1030.0, "NaN", "Infinity", "-inf", "1e3", "", "1,000.00", "12.345", True])
def test_money_rejects_floats_non_finite_and_sub_cent(bad: Any) -> None:
    with pytest.raises(ValidationError):
        RepaymentPostedV1.model_validate({**REPAYMENT_BODY, "amount": bad})


def test_money_json_number_is_rejected() -> None:
    raw = json.dumps({**REPAYMENT_BODY, "amount": 0.1})
    with pytest.raises(ValidationError, match="float"):
        RepaymentPostedV1.model_validate_json(raw)


@pytest.mark.parametrize(
    ("given", "expected"),
    [(1030, "1030"), ("1030.5", "1030.5"), ("1.500", "1.50"), (Decimal("1E+3"), "1000"), ("0.01", "0.01")],
)
def test_money_accepts_strings_and_integers(given: Any, expected: str) -> None:
    model = RepaymentPostedV1.model_validate({**REPAYMENT_BODY, "amount": given})
    assert model.model_dump(mode="json")["amount"] == expected
    assert model.amount == Decimal(expected)


def test_money_bounds() -> None:
    with pytest.raises(ValidationError):
        RepaymentPostedV1.model_validate({**REPAYMENT_BODY, "amount": "0"})  # must be positive
    with pytest.raises(ValidationError):
        PaymentReceivedV1.model_validate({**SAMPLES[("payment-received", 1)], "overdue_after": "-1.00"})
    risk = SAMPLES[("risk-score-changed", 1)]
    with pytest.raises(ValidationError):
        contract_for("risk-score-changed", 1).model_validate({**risk, "pd": "1.5"})


# --- the checked-in schemas ----------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(CONTRACTS), ids=lambda k: f"{k[0]}.v{k[1]}" if isinstance(k, tuple) else k)
def test_checked_in_schema_matches_or_is_compatible(key: tuple[str, int]) -> None:
    path = REPO_SCHEMAS / schema_filename(*key)
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `make schemas` (python -m postloan_common.contracts.schema_export)")
    stored = json.loads(path.read_text(encoding="utf-8"))
    current = schema_export.schema_of(CONTRACTS[key])
    if stored == current:
        return
    problems = check_compatible(stored, current)
    if problems:
        pytest.fail(
            f"{key[0]} v{key[1]} changed incompatibly: {'; '.join(problems)}. Keep the old model, add a "
            f"new version (bump `event_version`) and run `make schemas`."
        )


def test_schema_files_are_canonical_text() -> None:
    for path in sorted(REPO_SCHEMAS.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        assert text == schema_export.render(json.loads(text)), f"{path.name} is not sorted/indented"


# --- check_compatible ----------------------------------------------------------------------------


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class NarrowStatus(StrEnum):
    OPEN = "open"


class Inner(BaseModel):
    amount: str
    note: str | None = None


class OldModel(BaseModel):
    loan_id: str
    dpd: int
    status: Status
    inner: Inner
    items: list[Inner] = []
    maybe: int | None = None


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema(mode="serialization")


def _variant(**fields: Any) -> type[BaseModel]:
    """OldModel with some field annotations replaced or added (value None removes a field)."""
    from pydantic import create_model

    base: dict[str, Any] = {
        "loan_id": (str, ...),
        "dpd": (int, ...),
        "status": (Status, ...),
        "inner": (Inner, ...),
        "items": (list[Inner], []),
        "maybe": (int | None, None),
    }
    for name, spec in fields.items():
        if spec is None:
            base.pop(name)
        else:
            base[name] = spec
    return create_model("OldModel", **base)


def test_identical_schemas_are_compatible() -> None:
    assert check_compatible(_schema(OldModel), _schema(_variant())) == []
    for model in CONTRACTS.values():
        assert check_compatible(_schema(model), _schema(model)) == []


def test_new_optional_property_is_compatible() -> None:
    assert check_compatible(_schema(OldModel), _schema(_variant(extra=(str | None, None)))) == []


def test_added_enum_value_is_compatible() -> None:
    wider = StrEnum("Status", {"OPEN": "open", "CLOSED": "closed", "HELD": "held"})  # type: ignore[misc]
    assert check_compatible(_schema(OldModel), _schema(_variant(status=(wider, ...)))) == []


def test_removed_property_is_flagged() -> None:
    problems = check_compatible(_schema(OldModel), _schema(_variant(dpd=None)))
    assert problems == ["$.dpd: property removed"]


def test_type_change_is_flagged() -> None:
    problems = check_compatible(_schema(OldModel), _schema(_variant(dpd=(str, ...))))
    assert problems == ["$.dpd: type changed from integer to string"]
    problems = check_compatible(_schema(OldModel), _schema(_variant(maybe=(str | None, None))))
    assert len(problems) == 1 and "$.maybe: type changed" in problems[0]


def test_new_required_property_is_flagged() -> None:
    problems = check_compatible(_schema(OldModel), _schema(_variant(extra=(str, ...))))
    assert problems == ["$.extra: new required property"]
    problems = check_compatible(_schema(OldModel), _schema(_variant(maybe=(int, ...))))
    assert any("$.maybe" in p for p in problems)


def test_removed_enum_value_is_flagged() -> None:
    problems = check_compatible(_schema(OldModel), _schema(_variant(status=(NarrowStatus, ...))))
    assert problems == ["$.status: enum value 'closed' removed"]


def test_changes_inside_defs_and_nested_objects_are_flagged() -> None:
    class InnerV2(BaseModel):
        amount: float  # type changed
        extra: str  # new required

    problems = check_compatible(_schema(OldModel), _schema(_variant(inner=(InnerV2, ...))))
    assert "$.inner.amount: type changed from string to number" in problems
    assert "$.inner.note: property removed" in problems
    assert "$.inner.extra: new required property" in problems
    problems = check_compatible(_schema(OldModel), _schema(_variant(items=(list[InnerV2], []))))
    assert "$.items[].amount: type changed from string to number" in problems


def test_real_contract_changes_are_flagged() -> None:
    """Breaking edits deep inside a real contract's schema ($defs behind anyOf and arrays) are found."""
    old = _schema(LoanBookedV1)
    new = json.loads(json.dumps(old))
    new["$defs"]["Installment"]["properties"]["seq"]["type"] = "string"
    new["$defs"]["RepaymentMethod"]["enum"].remove("interest_only")
    problems = check_compatible(old, new)
    assert "$.installments[].seq: type changed from integer to string" in problems
    assert "$.terms.method: enum value 'interest_only' removed" in problems
    money = json.loads(json.dumps(old))
    money["properties"]["principal"] = {"type": "number"}
    assert check_compatible(old, money) == ["$.principal: type changed from string:decimal to number"]


# --- the command line ----------------------------------------------------------------------------


def test_export_and_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written = export_schemas(tmp_path)
    assert len(written) == len(CONTRACTS)
    assert all(p.read_text(encoding="utf-8").endswith("}\n") for p in written)
    assert schema_export.main(["--check", str(tmp_path)]) == 0

    # stale but compatible: --check fails, re-export fixes it
    target = tmp_path / schema_filename("repayment-posted", 1)
    stored = json.loads(target.read_text(encoding="utf-8"))
    stored["properties"]["legacy"] = {"type": "string"}  # the model "dropped" this property
    target.write_text(schema_export.render(stored), encoding="utf-8")
    assert schema_export.main(["--check", str(tmp_path)]) == 1
    assert "legacy: property removed" in capsys.readouterr().out
    assert schema_export.main([str(tmp_path)]) == 1  # refuses an incompatible overwrite
    assert schema_export.main(["--force", str(tmp_path)]) == 0
    assert schema_export.main(["--check", str(tmp_path)]) == 0

    target.unlink()
    (tmp_path / "gone.v1.json").write_text("{}\n", encoding="utf-8")
    assert schema_export.main(["--check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "repayment-posted.v1.json: missing" in out
    assert "gone.v1.json: no registered contract" in out


def test_find_schema_dir_walks_up(tmp_path: Path) -> None:
    (tmp_path / "contracts" / "schemas").mkdir(parents=True)
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert schema_export.find_schema_dir(nested) == tmp_path / "contracts" / "schemas"


SIGNAL = SAMPLES[("external-signal", 1)]


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "industry_index", "value": "101.5"},  # an index about a customer
        {"subject": "industry", "subject_id": "C3130"},  # an industry with something other than an index
        {"subject": "industry", "subject_id": "C3130", "kind": "industry_index", "value": None},
        {"value": 1.5},  # numbers travel as decimal strings
        {"value": "10000000000000"},
        {"details": {f"k{i}": i for i in range(21)}},
        {"details": {"nested": {"a": 1}}},
        {"details": {"bad key": 1}},
        {"severity": "urgent"},
        {"kind": "gossip"},
    ],
)
def test_external_signal_is_bounded(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        contract_for("external-signal", 1).model_validate({**SIGNAL, **change})


def test_industry_index_signal_and_customer_industry() -> None:
    index = {**SIGNAL, "subject": "industry", "subject_id": "C3130", "kind": "industry_index", "value": "-3.25"}
    assert contract_for("external-signal", 1).model_validate(index).value == Decimal("-3.25")  # type: ignore[attr-defined]
    assert CustomerUpsertedV1.model_validate(CUSTOMER_BODY).industry is None
    assert CustomerUpsertedV1.model_validate({**CUSTOMER_BODY, "industry": "C3130"}).industry == "C3130"
