"""Events of core banking (or the payment system) on `core-banking.transactions` (key: loan id).

`fund-moved` is money moving out of or into a loan's disbursement account; it carries the same
payload as `POST /v1/fund-flows` on risk-alert, which traces where the proceeds went (issue 15).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, StringConstraints

from postloan_common.contracts.common import Currency, EventData, Id, LoanPurpose, PositiveMoney


class FlowDirection(StrEnum):
    OUT = "out"
    IN = "in"


class CounterpartyKind(StrEnum):
    SUPPLIER = "supplier"
    MERCHANT = "merchant"
    PERSON = "person"
    COMPANY = "company"
    BORROWER_SELF = "borrower_self"
    RELATED_PARTY = "related_party"
    LENDER = "lender"
    SECURITIES_BROKER = "securities_broker"
    REAL_ESTATE = "real_estate"
    UNKNOWN = "unknown"


class Counterparty(BaseModel):
    """Who the money went to (direction out) or came from (direction in)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    account: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    bank: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    kind: CounterpartyKind


_PURPOSES = "|".join(p.value for p in LoanPurpose)
# A purpose category (LoanPurpose) or a four-digit ISO 18245 merchant category code.
Category = Annotated[str, StringConstraints(pattern=rf"^(?:{_PURPOSES}|[0-9]{{4}})$")]


class FundMovedV1(EventData):
    """Money moved out of (spent) or into (came back to) the loan's disbursement account."""

    event_type: ClassVar[str] = "fund-moved"
    event_version: ClassVar[int] = 1

    flow_id: Id
    loan_id: Id
    occurred_on: date
    direction: FlowDirection
    amount: PositiveMoney
    currency: Currency
    counterparty: Counterparty
    category: Category | None = None
    channel: Annotated[str, StringConstraints(min_length=1, max_length=64)]


EVENTS: tuple[type[EventData], ...] = (FundMovedV1,)
