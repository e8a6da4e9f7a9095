"""Pure shared primitives: contract parsing for consumers, money rounding, cursors, unnest arrays."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest
from sqlalchemy import Column, Date, MetaData, Numeric, String, Table

from postloan_common.contracts.repayment import LoanRegisteredV1, PaymentDueV1
from postloan_common.db_arrays import array_types, columns_of, unnest_sql
from postloan_common.messaging.consumer import PermanentError
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.parsing import parse_data
from postloan_common.money import quantize_money, quantize_ratio, quantize_share
from postloan_common.web.cursors import BadCursor, decode_cursor, encode_cursor
from postloan_common.web.problems import ProblemError

DUE = {
    "loan_id": "L-1",
    "customer_id": "C-1",
    "installment_seq": 1,
    "due_date": "2026-01-02",
    "amount_due": "10.00",
    "currency": "EUR",
    "days_before_due": 3,
    "payment_reference": "REF-1",
}


def _envelope(type_: str = "payment-due", version: int = 1, **data) -> Envelope:
    return Envelope(type=type_, version=version, source="test", subject="L-1", data={**DUE, **data})


def test_parse_data_returns_the_contract_model():
    parsed = parse_data(_envelope(), PaymentDueV1)
    assert isinstance(parsed, PaymentDueV1) and parsed.amount_due == Decimal("10.00")


def test_a_contract_breach_names_fields_and_error_types_but_never_the_input():
    secret = "Jane Doe, IBAN DE89370400440532013000"
    with pytest.raises(PermanentError) as caught:
        parse_data(_envelope(customer_id=secret * 10, installment_seq=0), PaymentDueV1)
    reason = str(caught.value)
    assert reason.startswith("payment-due v1 does not match its contract: ")
    assert "customer_id" in reason and "installment_seq: greater_than_equal" in reason
    assert "Jane" not in reason and "DE89" not in reason
    assert caught.value.__cause__ is None  # the ValidationError (which carries the input) is not chained


def test_unknown_contracts_and_wrong_models_are_permanent():
    with pytest.raises(PermanentError, match="payment-due v9: no contract is registered"):
        parse_data(_envelope(version=9), PaymentDueV1)
    with pytest.raises(PermanentError, match="payment-due v1 is not a LoanRegisteredV1"):
        parse_data(_envelope(), LoanRegisteredV1)


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (Decimal("0.005"), 2, Decimal("0.01")),
        (Decimal("-0.005"), 2, Decimal("-0.01")),
        (Decimal("0.015"), 2, Decimal("0.02")),  # half-even would give 0.02 too; 0.025 tells them apart
        (Decimal("0.025"), 2, Decimal("0.03")),
        ("2.345", 2, Decimal("2.35")),
        (7, 2, Decimal("7.00")),
        (Decimal("1.23456"), 4, Decimal("1.2346")),
        (Decimal("12.5"), 0, Decimal("13")),
    ],
)
def test_quantize_money_rounds_half_up(value, places, expected):
    result = quantize_money(value, places)
    assert result == expected and result.as_tuple().exponent == -places


def test_quantize_money_ignores_the_ambient_context_and_refuses_floats():
    with localcontext() as ctx:
        ctx.rounding = "ROUND_DOWN"
        assert quantize_money(Decimal("0.125")) == Decimal("0.13")
    with pytest.raises(TypeError):
        quantize_money(0.1)  # type: ignore[arg-type]


def test_quantize_ratio_rounds_half_up_to_its_places():
    assert quantize_ratio(Decimal("0.00005"), 4) == Decimal("0.0001")  # half-even gave 0.0000
    assert quantize_ratio(Decimal("-0.00005"), 4) == Decimal("-0.0001")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("0.005"), Decimal("0.00")), (Decimal("0.019"), Decimal("0.01")), (Decimal("-0.015"), Decimal("-0.01"))],
)
def test_quantize_share_rounds_toward_zero(value, expected):
    assert quantize_share(value) == expected
    with pytest.raises(TypeError):
        quantize_share(0.1)  # type: ignore[arg-type]


def test_cursors_round_trip_and_stay_opaque():
    cursor = encode_cursor(["2026-01-02T03:04:05+00:00", "A-1", 3])
    assert "=" not in cursor and "A-1" not in cursor
    assert decode_cursor(cursor, size=3) == ["2026-01-02T03:04:05+00:00", "A-1", 3]
    # Cursors issued before padding was stripped still decode.
    assert decode_cursor(cursor + "=" * (-len(cursor) % 4)) == ["2026-01-02T03:04:05+00:00", "A-1", 3]


@pytest.mark.parametrize("cursor", ["not base64!", "e30", "WyJhIl0", "", "\u00e9"])
def test_a_bad_cursor_is_a_400_problem(cursor):
    # "e30" is `{}` (not a list); "WyJhIl0" is `["a"]` (wrong length).
    with pytest.raises(BadCursor) as caught:
        decode_cursor(cursor, size=2)
    assert isinstance(caught.value, ProblemError) and caught.value.status == 400


def test_columns_of_transposes_rows_and_keeps_the_empty_shape():
    assert columns_of([(1, "a"), (2, "b")]) == [[1, 2], ["a", "b"]]
    assert columns_of([], width=3) == [[], [], []]
    with pytest.raises(ValueError):
        columns_of([(1, "a"), (2,)])


def test_unnest_sql_casts_each_column_to_its_array_type_without_length():
    table = Table("t", MetaData(), Column("a", String(20)), Column("b", Numeric(18, 2)), Column("c", Date))
    assert array_types(table, ["a", "b", "c"]) == ["VARCHAR[]", "NUMERIC[]", "DATE[]"]
    assert unnest_sql(table, ["a", "c"], first_param=3) == "unnest($3::VARCHAR[], $4::DATE[])"
