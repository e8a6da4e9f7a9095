"""Reading fields of Fineract payloads (`LoanAccountDataV1`, `LoanTransactionDataV1`, `ClientDataV1`)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from postloan_common.contracts.core_banking import Installment

# postloan's Money has at most two places; a currency with more cannot be carried without rounding.
MAX_PLACES = 2
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,24}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ID_TEXT = re.compile(r"\s+")
_REASONS = {
    "LoanReAgeBusinessEvent": "re-aged in Fineract",
    "LoanReAmortizeBusinessEvent": "re-amortized in Fineract",
}


class PayloadError(ValueError):
    """A payload field that is missing or cannot be carried exactly; the message names the field only."""


def required(record: dict[str, Any], name: str) -> Any:
    """Field `name`, which must be present."""
    value = record.get(name)
    if value is None:
        raise PayloadError(f"{name} is missing")
    return value


def at(record: dict[str, Any] | None, *path: str) -> Any:
    """The field at `path`, or None when any step is missing."""
    node: Any = record
    for name in path:
        if not isinstance(node, dict):
            return None
        node = node.get(name)
    return node


def optional_date(text: str | None, what: str) -> date | None:
    """An ISO local date, or None."""
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise PayloadError(f"{what} is not an ISO date") from None


def required_date(text: str | None, what: str) -> date:
    """An ISO local date that must be present."""
    value = optional_date(text, what)
    if value is None:
        raise PayloadError(f"{what} is missing")
    return value


def to_places(value: Decimal, places: int) -> Decimal | None:
    """`value` at exactly `places` decimal places, or None when that would change it (never rounds)."""
    quantum = Decimal(1).scaleb(-places)
    exact = value.quantize(quantum)
    return exact if exact == value else None


def amount(value: Decimal, places: int, what: str) -> Decimal:
    """A scale-8 Fineract amount at the currency's places, exactly; more places is a dead letter."""
    exact = to_places(value, places)
    if exact is None:
        raise PayloadError(f"{what} has more decimal places than the currency's {places}")
    return exact


def currency_of(record: dict[str, Any]) -> tuple[int, str]:
    """(decimal places, ISO code) of the record's currency (its own, its schedule's or its summary's)."""
    currency = (
        record.get("currency")
        or at(record, "repaymentSchedule", "currency")
        or at(record, "summary", "currency")
        or at(record, "product", "currency")
    )
    code = at(currency, "code")
    if not code:
        raise PayloadError("currency is missing")
    places = at(currency, "decimalPlaces")
    places = MAX_PLACES if places is None else int(places)
    if places > MAX_PLACES:
        raise PayloadError(f"currency {code} has {places} decimal places; postloan carries at most {MAX_PLACES}")
    return places, str(code)


def annual_rate(loan: dict[str, Any]) -> Decimal:
    """Fineract's nominal annual rate in percent, as postloan's fraction (12 → 0.12), exactly."""
    percent = loan.get("annualInterestRate")
    if percent is None:
        raise PayloadError("annualInterestRate is missing")
    rate = to_places(Decimal(percent) / 100, 6)
    if rate is None:
        raise PayloadError("annualInterestRate has more than 4 decimal places")
    return rate


def _id_text(text: str, limit: int = 64) -> str:
    return _ID_TEXT.sub("-", text.strip())[:limit]


def product_of(loan: dict[str, Any]) -> str:
    """The loan product's short name, else its id."""
    short = at(loan, "product", "shortName")
    if short and short.strip():
        return _id_text(short)
    return f"product-{required(loan, 'loanProductId')}"


def branch_of(loan: dict[str, Any]) -> str:
    """The office of the loan's client (Fineract's branch)."""
    return f"office-{required(loan, 'clientOfficeId')}"


def installments(loan: dict[str, Any], places: int, *, after: date | None) -> tuple[Installment, ...]:
    """The repayment schedule's installments; with `after`, only the open ones falling due after that day."""
    periods = at(loan, "repaymentSchedule", "periods") or []
    result: list[Installment] = []
    for period in periods:
        if period.get("period") is None:
            continue  # the disbursement row
        due = required_date(period.get("dueDate"), "repaymentSchedule.periods.dueDate")
        if after is None:
            parts = ("principalDue", "interestDue", "feeChargesDue")
        else:
            if period.get("complete") or due <= after:
                continue
            parts = ("principalOutstanding", "interestOutstanding", "feeChargesOutstanding")
        principal, interest, fee = (
            amount(period.get(name) or Decimal(0), places, f"repaymentSchedule.periods.{name}") for name in parts
        )
        result.append(Installment(seq=len(result) + 1, due_date=due, principal=principal, interest=interest, fee=fee))
    if not result:
        raise PayloadError("repaymentSchedule has no installments")
    return tuple(result)


def type_code(txn: dict[str, Any]) -> str | None:
    """The transaction's LoanTransactionType code, e.g. `loanTransactionType.repayment`."""
    return at(txn, "type", "code")


def channel_of(txn: dict[str, Any], default: str) -> str:
    """The payment type's name (e.g. `Money Transfer`), else the configured default channel."""
    name = at(txn, "paymentDetailData", "paymentType", "name")
    return str(name).strip()[:64] if name and str(name).strip() else default


def restructure_reason(event_type: str) -> str:
    """Why the loan was restructured, in words."""
    return _REASONS.get(event_type, "rescheduled in Fineract")


def customer_fields(client: dict[str, Any], customer_id: str, timezone: str, language: str) -> dict[str, Any]:
    """`customer-upserted` fields from a client; missing or unusable contact data is left out."""
    name = client.get("displayName") or client.get("fullname")
    if not name:
        name = " ".join(part for part in (client.get("firstname"), client.get("lastname")) if part)
    phone = (client.get("mobileNo") or "").strip()
    email = (client.get("emailAddress") or "").strip()
    national_id = client.get("externalId") or client.get("accountNo") or str(required(client, "id"))
    legal_form = str(at(client, "legalForm", "value") or "").lower()
    return {
        "customer_id": customer_id,
        "name": (name or f"client {client.get('id')}")[:200],
        "national_id": str(national_id)[:64],
        "phones": [{"number": phone, "kind": "mobile"}] if _PHONE.match(phone) else [],
        "emails": [email] if _EMAIL.match(email) and len(email) <= 254 else [],
        "timezone": timezone,
        "language": language,
        "birth_date": optional_date(client.get("dateOfBirth"), "dateOfBirth"),
        "segment": "corporate" if legal_form == "entity" else "retail",
    }
