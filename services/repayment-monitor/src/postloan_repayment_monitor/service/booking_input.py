"""The booking body of POST /v1/loans (and of each bulk line), and the bounds every input shares.

Here, under the api layer, because the bulk load validates its lines by the same model.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from postloan_common.contracts import LoanPurpose, Money, PositiveMoney, Rate
from postloan_common.money import quantize_money

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


def _at_most(limit: Decimal, places: int) -> AfterValidator:
    """Bound a decimal to what its column holds, so the database never rounds or overflows."""

    def check(value: Decimal) -> Decimal:
        if value > limit:
            raise ValueError(f"must be ≤ {limit}")
        if value != quantize_money(value, places):
            raise ValueError(f"must have at most {places} decimal places")
        return value

    return AfterValidator(check)


# Bounds that keep amounts and rates inside their Numeric columns (and sums of them), so an
# absurd figure is a 422 here rather than a database overflow.
MAX_AMOUNT = Decimal("999999999999.99")
Amount = Annotated[Money, _at_most(MAX_AMOUNT, 2)]
PositiveAmount = Annotated[PositiveMoney, _at_most(MAX_AMOUNT, 2)]
AnnualRate = Annotated[Rate, _at_most(Decimal(10), 6)]


def _plausible(day: date) -> date:
    if not date(1900, 1, 1) <= day <= date(2999, 12, 31):
        raise ValueError("must be between 1900-01-01 and 2999-12-31")
    return day


# Dates far enough from date.max that grace periods, terms and offsets added to them cannot overflow.
Day = Annotated[date, AfterValidator(_plausible)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InstallmentIn(_In):
    seq: int = Field(ge=1, le=1200)
    due_date: Day
    principal: Amount
    interest: Amount
    fee: Amount = Decimal("0.00")


class TermsIn(_In):
    method: Literal["annuity", "equal_principal", "interest_only"]
    months: int = Field(ge=1, le=600)
    first_due_date: Day


_Scheduling = TypeVar("_Scheduling", "LoanIn", "RestructuringIn")


def _exactly_one_schedule(body: _Scheduling) -> _Scheduling:
    """A body gives either an explicit schedule or the terms to generate one, never both."""
    if (body.installments is None) == (body.terms is None):
        raise ValueError("give exactly one of 'installments' and 'terms'")
    return body


class LoanIn(_In):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "loan_id": "L-1001",
                    "customer_id": "C-1001",
                    "product": "consumer",
                    "branch": "SH-01",
                    "currency": "CNY",
                    "principal": "12000.00",
                    "annual_rate": "0.12",
                    "disbursed_on": "2026-01-15",
                    "terms": {"method": "annuity", "months": 12, "first_due_date": "2026-02-15"},
                }
            ]
        },
    )

    loan_id: Id
    customer_id: Id
    product: Id
    branch: Id
    currency: Currency
    principal: PositiveAmount
    annual_rate: AnnualRate
    disbursed_on: Day
    installments: list[InstallmentIn] | None = Field(default=None, min_length=1, max_length=1200)
    terms: TermsIn | None = None
    purpose: LoanPurpose | None = None

    _one_schedule = model_validator(mode="after")(_exactly_one_schedule)


class RestructuringIn(_In):
    """The fields of a `loan-restructured` event but `loan_id`, which is in the path."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "restructure_id": "RS-3001",
                    "restructured_on": "2026-06-01",
                    "reason": "hardship: income loss",
                    "outstanding_principal": "8000.00",
                    "annual_rate": "0.08",
                    "terms": {"method": "equal_principal", "months": 24, "first_due_date": "2026-07-01"},
                }
            ]
        },
    )

    restructure_id: Id
    restructured_on: Day
    reason: str = Field(min_length=1, max_length=500)
    outstanding_principal: PositiveAmount
    annual_rate: AnnualRate | None = None  # null: the contract rate stays
    installments: list[InstallmentIn] | None = Field(default=None, min_length=1, max_length=1200)
    terms: TermsIn | None = None

    _one_schedule = model_validator(mode="after")(_exactly_one_schedule)
