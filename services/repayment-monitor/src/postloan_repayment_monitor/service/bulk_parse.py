"""Bulk file bookings: parsing and validation of one booking (pure, runs in a worker thread).

Every loan is checked by the rules of POST /v1/loans (LoanIn, schedule_of). Lines in the documented
form (strings for money and dates) pass a hand-written check that accepts a strict subset of what
LoanIn accepts, and anything else goes through LoanIn itself, so the rules and messages are the API's.
The result is the COPY text (tab-separated) the writer stages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import ValidationError

from postloan_common.contracts import LoanPurpose
from postloan_repayment_monitor.domain.ledger import Scheduled
from postloan_repayment_monitor.service.booking_input import LoanIn
from postloan_repayment_monitor.service.commands import booking_command
from postloan_repayment_monitor.service.intake import BookLoan, Terms, schedule_of

Format = Literal["ndjson", "csv"]
FORMATS: tuple[str, ...] = ("ndjson", "csv")

LOAN_COLUMNS = ("loan_id", "customer_id", "product", "branch", "currency", "principal", "annual_rate", "disbursed_on")
INSTALLMENT_COLUMNS = ("seq", "due_date", "installment_principal", "interest", "fee")
TERMS_COLUMNS = ("method", "months", "first_due_date")
# Loan columns a file may leave out (or leave empty on a row).
OPTIONAL_LOAN_COLUMNS = ("purpose",)

# The fast path's canonical forms; each is narrower than the LoanIn rule it stands for, and the
# digit limits keep amounts inside the columns' numeric(18,2) and numeric(12,6).
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_MONEY = re.compile(r"(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,2})?")
_RATE = re.compile(r"(?:0|[1-9][0-9]{0,5})(?:\.[0-9]{1,6})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_METHODS = frozenset({"annuity", "equal_principal", "interest_only"})
_PURPOSES = frozenset(p.value for p in LoanPurpose)
_LOAN_KEYS = frozenset(LOAN_COLUMNS)
# The loan fields a canonical line gives as the command takes them (the fast path parses the rest).
_TEXT_FIELDS = ("loan_id", "customer_id", "product", "branch", "currency")
_INSTALLMENT_KEYS = frozenset({"seq", "due_date", "principal", "interest", "fee"})
_ZERO = Decimal(0)
_MONEY_LIMIT = Decimal(10) ** 16
_RATE_LIMIT = Decimal(10) ** 6


class BulkFormatError(ValueError):
    """The file as a whole cannot be read (e.g. a CSV header without the required columns)."""


@dataclass(frozen=True)
class LineError:
    line: int
    loan_id: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "loan_id": self.loan_id, "reason": self.reason}


@dataclass(frozen=True)
class ParsedLoan:
    """A valid booking, as the lines of COPY text (tab-separated) it stages.

    Validated values need no COPY escaping: ids, codes and currencies match patterns without
    tabs, newlines or backslashes, and amounts and dates are plain.
    """

    line: int
    loan_id: str
    loan: str
    installments: str
    # The loan-registered payload (LoanRegisteredV1) as JSON text, with contractual dates.
    registered: str
    product: str
    first_due_date: date
    maturity_date: date


@dataclass
class ParsedChunk:
    loans: list[ParsedLoan]
    errors: list[LineError]
    total: int


def _day(value: object) -> date | None:
    if type(value) is str and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _loan_fields(body: dict[str, Any]) -> tuple[Decimal, date] | None:
    """Principal and disbursement date when the loan's own fields are in canonical form."""
    for name in ("loan_id", "customer_id", "product", "branch"):
        value = body[name]
        if type(value) is not str or not _ID.fullmatch(value):
            return None
    currency, rate, principal = body["currency"], body["annual_rate"], body["principal"]
    if type(currency) is not str or not _CURRENCY.fullmatch(currency):
        return None
    if type(rate) is not str or not _RATE.fullmatch(rate):
        return None
    if type(principal) is not str or not _MONEY.fullmatch(principal):
        return None
    disbursed_on = _day(body["disbursed_on"])
    amount = Decimal(principal)
    if disbursed_on is None or amount <= 0:
        return None
    return amount, disbursed_on


def _fast_parse(line: int, body: dict[str, Any]) -> ParsedLoan | None:
    """A body in canonical form whose schedule schedule_of would accept as given, or None.

    None hands the body to LoanIn and schedule_of, which accept or explain: this path never
    rejects, so the rules and the messages are the API's.
    """
    keys = body.keys()
    has_installments = "installments" in body
    purpose = body.get("purpose")
    if purpose is not None and purpose not in _PURPOSES:
        return None
    extra = 2 if "purpose" in body else 1
    if has_installments == ("terms" in body) or not keys >= _LOAN_KEYS or len(keys) != len(_LOAN_KEYS) + extra:
        return None
    fields = _loan_fields(body)
    if fields is None:
        return None
    principal, disbursed_on = fields
    loan_id = body["loan_id"]
    if not has_installments:
        terms = body["terms"]
        if type(terms) is not dict or terms.keys() != {"method", "months", "first_due_date"}:
            return None
        method, months, first = terms["method"], terms["months"], _day(terms["first_due_date"])
        if method not in _METHODS or type(months) is not int or not 1 <= months <= 600 or first is None:
            return None
        command = _command(body, principal, disbursed_on, None, Terms(method, months, first))
        return _parsed(line, command, schedule_of(command), command.content_hash())
    given = body["installments"]
    if type(given) is not list or not 1 <= len(given) <= 1200:
        return None
    rows: list[str] = []
    schedule: list[Scheduled] = []
    total = _ZERO
    previous = disbursed_on
    first_day: date | None = None
    money = _MONEY.fullmatch
    for seq, item in enumerate(given, start=1):
        if type(item) is not dict or item.get("seq") != seq or type(item["seq"]) is not int:
            return None
        if not item.keys() <= _INSTALLMENT_KEYS:
            return None
        due, part, interest, fee = item.get("due_date"), item.get("principal"), item.get("interest"), item.get("fee")
        if fee is None:
            if len(item) != 4:
                return None
            fee = "0.00"
        if type(part) is not str or type(interest) is not str or type(fee) is not str:
            return None
        if not (money(part) and money(interest) and money(fee)):
            return None
        day = _day(due)
        if day is None or day <= previous:
            return None
        previous = day
        first_day = first_day or day
        total += Decimal(part)
        rows.append(f"{loan_id}\t{seq}\t{due}\t{part}\t{interest}\t{fee}\n")
        schedule.append(Scheduled(seq, day, Decimal(part), Decimal(interest), Decimal(fee)))
    if total != principal:
        return None
    digest = _command(body, principal, disbursed_on, tuple(schedule), None).content_hash()
    loan = (
        f"{line}\t{loan_id}\t{body['customer_id']}\t{body['product']}\t{body['branch']}\t{body['currency']}\t"
        f"{principal}\t{body['annual_rate']}\t{disbursed_on}\t{digest}\t{len(rows)}\t{given[0]['due_date']}\t"
        f"{previous}\t{_copy_text(purpose)}\n"
    )
    registered = _registered(
        body, principal, body["annual_rate"], disbursed_on, len(rows), given[0]["due_date"], previous
    )
    return ParsedLoan(line, loan_id, loan, "".join(rows), registered, body["product"], first_day or previous, previous)


def _command(
    body: dict[str, Any],
    principal: Decimal,
    disbursed_on: date,
    installments: tuple[Scheduled, ...] | None,
    terms: Terms | None,
) -> BookLoan:
    return BookLoan(
        **{name: body[name] for name in _TEXT_FIELDS},
        principal=principal,
        annual_rate=Decimal(body["annual_rate"]),
        disbursed_on=disbursed_on,
        installments=installments,
        terms=terms,
        purpose=body.get("purpose"),
    )


def _slow_command(body: Any) -> BookLoan:
    """The booking by LoanIn's rules; raises ValueError with the reason."""
    try:
        loan = LoanIn.model_validate(body)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)[:5]
        ]
        raise ValueError("; ".join(problems)) from None
    if loan.principal >= _MONEY_LIMIT or loan.annual_rate >= _RATE_LIMIT:
        raise ValueError("principal or annual_rate is too large")
    for item in loan.installments or ():
        if max(item.principal, item.interest, item.fee) >= _MONEY_LIMIT:
            raise ValueError(f"installment {item.seq}: amount too large")
    return booking_command(loan)


def _parsed(line: int, command: BookLoan, schedule: list[Scheduled], digest: str) -> ParsedLoan:
    c = command
    loan = (
        f"{line}\t{c.loan_id}\t{c.customer_id}\t{c.product}\t{c.branch}\t{c.currency}\t{c.principal}\t"
        f"{c.annual_rate}\t{c.disbursed_on}\t{digest}\t{len(schedule)}\t{schedule[0].due_date}\t"
        f"{schedule[-1].due_date}\t{_copy_text(c.purpose)}\n"
    )
    installments = "".join(
        f"{c.loan_id}\t{s.seq}\t{s.due_date}\t{s.principal}\t{s.interest}\t{s.fee}\n" for s in schedule
    )
    registered = _registered(
        vars(c), c.principal, c.annual_rate, c.disbursed_on, len(schedule), schedule[0].due_date, schedule[-1].due_date
    )
    return ParsedLoan(
        line, c.loan_id, loan, installments, registered, c.product, schedule[0].due_date, schedule[-1].due_date
    )


def _registered(
    loan: dict[str, Any], principal: object, rate: object, disbursed_on: date, count: int, first: object, last: date
) -> str:
    """LoanRegisteredV1 as JSON text (validated values need no JSON escaping).

    The due dates stay the last two fields (with_due_dates replaces them), so a purpose comes before.
    """
    purpose = loan.get("purpose")
    return (
        f'{{"loan_id":"{loan["loan_id"]}","customer_id":"{loan["customer_id"]}","product":"{loan["product"]}",'
        f'"branch":"{loan["branch"]}","currency":"{loan["currency"]}","principal":"{principal}",'
        f'"annual_rate":"{rate}","disbursed_on":"{disbursed_on}","installment_count":{count},'
        + (f'"purpose":"{purpose}",' if purpose is not None else "")
        + f'"first_due_date":"{first}","maturity_date":"{last}"}}'
    )


def _copy_text(value: str | None) -> str:
    """A nullable validated code as a COPY text field (\\N is NULL)."""
    return "\\N" if value is None else value


def with_due_dates(registered: str, first: date, last: date) -> str:
    """The loan-registered JSON text of _registered with other first and maturity dates (its last two fields)."""
    head, _, _ = registered.rpartition(',"first_due_date":')
    return f'{head},"first_due_date":"{first}","maturity_date":"{last}"}}'


def parse_booking(line: int, body: Any) -> ParsedLoan | LineError:
    """Validate one booking body; the staged rows or the reason it is rejected."""
    if not isinstance(body, dict):
        return LineError(line, None, "a line must be a JSON object (a POST /v1/loans body)")
    loan_id = body.get("loan_id") if isinstance(body.get("loan_id"), str) else None
    try:
        parsed = _fast_parse(line, body)
        if parsed is not None:
            return parsed
        command = _slow_command(body)
        return _parsed(line, command, schedule_of(command), command.content_hash())
    except ValueError as exc:
        return LineError(line, loan_id, str(exc))
