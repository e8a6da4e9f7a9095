"""Bulk intake of a whole portfolio: a file of bookings loaded through COPY, chunk by chunk.

Formats:

- ``ndjson``: one POST /v1/loans body per line (blank lines are skipped).
- ``csv`` with a header row; the header decides the layout:
  - one row per installment: ``loan_id, customer_id, product, branch, currency, principal,
    annual_rate, disbursed_on, seq, due_date, installment_principal, interest, fee`` (an empty
    fee is 0.00). The loan columns repeat on every row of the loan, a loan's rows are
    consecutive and must agree on them;
  - one row per loan with terms: the same loan columns and ``method, months, first_due_date``.
  A loan's line number is the file line of its first row (the header is line 1).

Every loan is checked by the rules of POST /v1/loans (LoanIn, schedule_of); a bad line is
rejected with its line number and reason, the others load. Idempotent on loan_id, like
book_loans: the same content again is unchanged, other content is rejected as a conflict, a new
loan is written with its installments and one `loan-registered` event (outbox and loan history).

Chunks (default 25,000 loans) are one transaction each, with the job's counters updated in it;
a job that fails keeps the chunks already committed, and loading the same file again is safe.

Why it is fast: lines in the documented form (strings for money and dates) pass a hand-written
check that accepts a strict subset of what LoanIn accepts, and anything else goes through LoanIn
itself, so the rules and messages are the API's. A parsing thread turns each chunk into COPY text
while the database writes the previous one; the writer COPYs it into temporary staging tables,
inserts loans and installments with one INSERT … SELECT each, and COPYs the events' outbox and
history rows.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import uuid_utils
from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.catalog import REPAYMENT_LOANS
from postloan_common.logging import get_logger
from postloan_repayment_monitor.api.schemas import LoanIn
from postloan_repayment_monitor.domain.business_days import DEFAULT_WEEKEND
from postloan_repayment_monitor.domain.delinquency import bucket_on_sql
from postloan_repayment_monitor.domain.ledger import Scheduled
from postloan_repayment_monitor.domain.rules import BucketScheme, ProductRules
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.events import SOURCE
from postloan_repayment_monitor.service.holidays import load_calendar
from postloan_repayment_monitor.service.intake import BookLoan, Terms, schedule_of
from postloan_repayment_monitor.store.tables import bulk_jobs

try:  # a faster parser when installed; the standard one otherwise
    import orjson

    _loads: Any = orjson.loads
    _JSON_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)
except ImportError:  # pragma: no cover - orjson is in the lock file today
    _loads = json.loads
    _JSON_ERRORS = (json.JSONDecodeError, UnicodeDecodeError)

log = get_logger(__name__)

Format = Literal["ndjson", "csv"]
FORMATS: tuple[str, ...] = ("ndjson", "csv")
MAX_ERRORS = 100
DEFAULT_CHUNK = 25_000

LOAN_COLUMNS = ("loan_id", "customer_id", "product", "branch", "currency", "principal", "annual_rate", "disbursed_on")
INSTALLMENT_COLUMNS = ("seq", "due_date", "installment_principal", "interest", "fee")
TERMS_COLUMNS = ("method", "months", "first_due_date")

# The fast path's canonical forms; each is narrower than the LoanIn rule it stands for, and the
# digit limits keep amounts inside the columns' numeric(18,2) and numeric(12,6).
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_MONEY = re.compile(r"(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,2})?")
_RATE = re.compile(r"(?:0|[1-9][0-9]{0,5})(?:\.[0-9]{1,6})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_METHODS = frozenset({"annuity", "equal_principal", "interest_only"})
_LOAN_KEYS = frozenset(LOAN_COLUMNS)
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


@dataclass
class JobProgress:
    job_id: str
    total: int = 0
    loaded: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    status: str = "running"

    def reject(self, errors: list[LineError]) -> None:
        self.rejected += len(errors)
        room = MAX_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(e.as_dict() for e in errors[:room])

    def counters(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "loaded": self.loaded,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": self.errors,
            "status": self.status,
        }


# --- parsing and validation (pure, runs in a worker thread) -------------------------------------


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
    if has_installments == ("terms" in body) or not keys >= _LOAN_KEYS or len(keys) != len(_LOAN_KEYS) + 1:
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
        f"{previous}\n"
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
        loan_id=body["loan_id"],
        customer_id=body["customer_id"],
        product=body["product"],
        branch=body["branch"],
        currency=body["currency"],
        principal=principal,
        annual_rate=Decimal(body["annual_rate"]),
        disbursed_on=disbursed_on,
        installments=installments,
        terms=terms,
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
    return BookLoan(
        loan_id=loan.loan_id,
        customer_id=loan.customer_id,
        product=loan.product,
        branch=loan.branch,
        currency=loan.currency,
        principal=loan.principal,
        annual_rate=loan.annual_rate,
        disbursed_on=loan.disbursed_on,
        installments=tuple(Scheduled(i.seq, i.due_date, i.principal, i.interest, i.fee) for i in loan.installments)
        if loan.installments
        else None,
        terms=Terms(loan.terms.method, loan.terms.months, loan.terms.first_due_date) if loan.terms else None,
    )


def _parsed(line: int, command: BookLoan, schedule: list[Scheduled], digest: str) -> ParsedLoan:
    c = command
    loan = (
        f"{line}\t{c.loan_id}\t{c.customer_id}\t{c.product}\t{c.branch}\t{c.currency}\t{c.principal}\t"
        f"{c.annual_rate}\t{c.disbursed_on}\t{digest}\t{len(schedule)}\t{schedule[0].due_date}\t"
        f"{schedule[-1].due_date}\n"
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
    """LoanRegisteredV1 as JSON text (validated values need no JSON escaping)."""
    return (
        f'{{"loan_id":"{loan["loan_id"]}","customer_id":"{loan["customer_id"]}","product":"{loan["product"]}",'
        f'"branch":"{loan["branch"]}","currency":"{loan["currency"]}","principal":"{principal}",'
        f'"annual_rate":"{rate}","disbursed_on":"{disbursed_on}","installment_count":{count},'
        f'"first_due_date":"{first}","maturity_date":"{last}"}}'
    )


def _with_due_dates(registered: str, first: date, last: date) -> str:
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


Body = tuple[int, Any, str | None]  # (line, body, reason the line could not even be read)


def _ndjson_bodies(path: Path) -> Iterator[Body]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                yield number, _loads(raw), None
            except _JSON_ERRORS as exc:
                yield number, None, f"not valid JSON: {exc}"


def _csv_bodies(path: Path) -> Iterator[Body]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        missing_loan = [c for c in LOAN_COLUMNS if c not in header]
        if missing_loan:
            raise BulkFormatError(f"CSV header lacks the loan columns {', '.join(missing_loan)}")
        per_installment = all(c in header for c in INSTALLMENT_COLUMNS if c != "fee")
        if not per_installment and not all(c in header for c in TERMS_COLUMNS):
            raise BulkFormatError(
                f"CSV header needs either the installment columns ({', '.join(INSTALLMENT_COLUMNS)}) "
                f"or the terms columns ({', '.join(TERMS_COLUMNS)})"
            )
        at = {name: i for i, name in enumerate(header)}
        loan_at = [at[c] for c in LOAN_COLUMNS]
        width = len(header)
        current: tuple[int, list[str], list[dict[str, Any]]] | None = None
        bad_loan: tuple[int, str] | None = None  # a loan whose rows disagree: its later rows are skipped
        start = reader.line_num + 1
        for values in reader:
            line, start = start, reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            if len(values) != width:
                yield line, None, f"expected {width} columns, got {len(values)}"
                continue
            loan_values = [values[i] for i in loan_at]
            if not per_installment:
                terms = {
                    "method": values[at["method"]],
                    "months": _int_or_text(values[at["months"]]),
                    "first_due_date": values[at["first_due_date"]],
                }
                yield line, {**dict(zip(LOAN_COLUMNS, loan_values, strict=True)), "terms": terms}, None
                continue
            fee = values[at["fee"]] if "fee" in at else ""
            installment: dict[str, Any] = {
                "seq": _int_or_text(values[at["seq"]]),
                "due_date": values[at["due_date"]],
                "principal": values[at["installment_principal"]],
                "interest": values[at["interest"]],
            }
            if fee.strip():
                installment["fee"] = fee
            if bad_loan is not None and bad_loan[1] == loan_values[0]:
                continue
            if current is not None and current[1][0] == loan_values[0]:
                if current[1] != loan_values:
                    differs = next(c for c, a, b in zip(LOAN_COLUMNS, current[1], loan_values, strict=True) if a != b)
                    yield current[0], None, f"rows of loan {loan_values[0]} disagree on {differs} (line {line})"
                    bad_loan, current = (current[0], loan_values[0]), None
                    continue
                current[2].append(installment)
                continue
            if current is not None:
                yield current[0], _loan_body(current[1], current[2]), None
            bad_loan = None
            current = (line, loan_values, [installment])
        if current is not None:
            yield current[0], _loan_body(current[1], current[2]), None


def _int_or_text(value: str) -> int | str:
    # Left as text when not a plain integer, so LoanIn names the problem.
    return int(value) if value.isdigit() and len(value) < 7 else value


def _loan_body(loan_values: list[str], installments: list[dict[str, Any]]) -> dict[str, Any]:
    return {**dict(zip(LOAN_COLUMNS, loan_values, strict=True)), "installments": installments}


class BookingReader:
    """Reads a bulk file chunk by chunk; each chunk validated (call from one thread at a time)."""

    def __init__(self, path: Path, fmt: Format) -> None:
        self._bodies = _ndjson_bodies(path) if fmt == "ndjson" else _csv_bodies(path)

    def next_chunk(self, size: int) -> ParsedChunk | None:
        """Up to `size` bookings, validated; None at the end of the file."""
        loans: list[ParsedLoan] = []
        errors: list[LineError] = []
        total = 0
        for line, body, problem in self._bodies:
            total += 1
            if problem is not None:
                errors.append(LineError(line, None, problem))
            else:
                parsed = parse_booking(line, body)
                (errors if isinstance(parsed, LineError) else loans).append(parsed)  # type: ignore[arg-type]
            if total >= size:
                break
        return ParsedChunk(loans, errors, total) if total else None


# --- writing (one transaction per chunk) ---------------------------------------------------------

_STAGE = """
SET LOCAL temp_buffers = '128MB';
CREATE TEMP TABLE bulk_stage_loans (
    line_no bigint, loan_id text, customer_id text, product text, branch text, currency text,
    principal numeric, annual_rate numeric, disbursed_on date, content_hash text,
    installment_count integer, first_due_date date, maturity_date date
) ON COMMIT DROP;
CREATE TEMP TABLE bulk_stage_installments (
    loan_id text, seq integer, due_date date, principal numeric, interest numeric, fee numeric
) ON COMMIT DROP;
CREATE TEMP TABLE bulk_created (loan_id text, grace_days integer, shifts boolean) ON COMMIT DROP;
"""
_STAGE_LOAN_COLUMNS = (
    "line_no",
    "loan_id",
    "customer_id",
    "product",
    "branch",
    "currency",
    "principal",
    "annual_rate",
    "disbursed_on",
    "content_hash",
    "installment_count",
    "first_due_date",
    "maturity_date",
)
_STAGE_INSTALLMENT_COLUMNS = ("loan_id", "seq", "due_date", "principal", "interest", "fee")

# $1 business date, $2 default penalty multiplier, $3 default grace days. The penalty rate and
# grace period are the product's (ProductRules.penalty_rate), snapshot at booking as book_loans does.
# When a product in the chunk shifts due dates, {shift} joins the calendar's shifts ($4 the
# non-business days, $5 the business day each moves to) to the first due date of its loans.
_INSERT_LOANS = """
WITH ins AS (
    INSERT INTO loans (loan_id, customer_id, product, branch, currency, principal, annual_rate, disbursed_on,
                       penalty_rate, grace_days, status, content_hash, booked_via, oldest_unpaid_due, bucket,
                       outstanding_principal)
    SELECT s.loan_id, s.customer_id, s.product, s.branch, s.currency, s.principal, s.annual_rate, s.disbursed_on,
           coalesce(p.penalty_annual_rate, s.annual_rate * coalesce(p.penalty_multiplier, $2::numeric)),
           coalesce(p.grace_days, $3::integer), 'active', s.content_hash, 'bulk', {first_due},
           {bucket}, s.principal
    FROM bulk_stage_loans s LEFT JOIN products p ON p.code = s.product {shift}
    ON CONFLICT (loan_id) DO NOTHING
    RETURNING loan_id, grace_days, product
)
INSERT INTO bulk_created (loan_id, grace_days, shifts) SELECT loan_id, grace_days, {shifts} FROM ins RETURNING loan_id
"""
_SHIFT_FIRST_DUE = """
    LEFT JOIN unnest($4::date[], $5::date[]) AS m(day, next_day) ON p.shift_due_dates AND m.day = s.first_due_date
"""

# A loan inserted just above has no installments yet, so no ON CONFLICT is needed here.
_INSERT_INSTALLMENTS = """
INSERT INTO installments (loan_id, seq, due_date, grace_ends_on, principal, interest, fee)
SELECT i.loan_id, i.seq, i.due_date, i.due_date + c.grace_days, i.principal, i.interest, i.fee
FROM bulk_stage_installments i JOIN bulk_created c ON c.loan_id = i.loan_id
"""
# The same for a chunk with loans of shifting products: $1 non-business days, $2 where they move to.
_INSERT_SHIFTED_INSTALLMENTS = """
INSERT INTO installments (loan_id, seq, due_date, contract_due_date, grace_ends_on, principal, interest, fee)
SELECT i.loan_id, i.seq, coalesce(m.next_day, i.due_date), CASE WHEN m.next_day IS NOT NULL THEN i.due_date END,
       coalesce(m.next_day, i.due_date) + c.grace_days, i.principal, i.interest, i.fee
FROM bulk_stage_installments i JOIN bulk_created c ON c.loan_id = i.loan_id
LEFT JOIN unnest($1::date[], $2::date[]) AS m(day, next_day) ON c.shifts AND m.day = i.due_date
"""
_SHIFTING_PRODUCTS = "SELECT code FROM products WHERE shift_due_dates AND code = ANY($1::text[])"

_OUTBOX_COLUMNS = ("event_id", "topic", "key", "event_type", "payload", "headers")
_HISTORY_COLUMNS = ("loan_id", "event_id", "event_type", "business_date", "data")

_NOT_CREATED = """
SELECT s.line_no, s.loan_id, l.content_hash = s.content_hash AS same
FROM bulk_stage_loans s JOIN loans l ON l.loan_id = s.loan_id
WHERE NOT EXISTS (SELECT 1 FROM bulk_created c WHERE c.loan_id = s.loan_id)
ORDER BY s.line_no
"""


async def _driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under `session`, inside its transaction (for COPY)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


@dataclass
class _Writer:
    sessions: async_sessionmaker[AsyncSession]
    progress: JobProgress
    initial_business_date: date
    buckets: BucketScheme
    correlation_id: str | None
    weekend: frozenset[int]
    # Seconds spent per step, summed over the chunks (logged: where the time of a big load goes).
    timings: dict[str, float] = field(default_factory=dict)

    async def write(self, loans: list[ParsedLoan], errors: list[LineError], total: int) -> list[ParsedLoan]:
        """Load one chunk in one transaction; return the repeated bookings it defers to the next one."""
        first: dict[str, ParsedLoan] = {}
        later: list[ParsedLoan] = []
        for loan in loans:
            # A loan id repeated within the chunk is judged once the first one is committed.
            if loan.loan_id in first:
                later.append(loan)
            else:
                first[loan.loan_id] = loan
        progress = self.progress
        started = time.perf_counter()
        async with self.sessions.begin() as session:
            if first:
                created, conflicts = await self._load(session, list(first.values()))
                progress.loaded += created
                progress.unchanged += len(first) - created - len(conflicts)
                errors = sorted([*errors, *conflicts], key=lambda e: e.line)
            progress.total += total
            progress.reject(errors)
            await session.execute(
                update(bulk_jobs).where(bulk_jobs.c.job_id == progress.job_id).values(**progress.counters())
            )
            mark = time.perf_counter()
        self.timings["commit"] = self.timings.get("commit", 0.0) + time.perf_counter() - mark
        self.timings["write"] = self.timings.get("write", 0.0) + time.perf_counter() - started
        return later

    async def _load(self, session: AsyncSession, loans: list[ParsedLoan]) -> tuple[int, list[LineError]]:
        clock = self.timings
        mark = time.perf_counter()

        def lap(step: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            clock[step] = clock.get(step, 0.0) + now - mark
            mark = now

        today = await business_date(session, initial=self.initial_business_date, lock="share")
        conn = await _driver_connection(session)
        defaults = ProductRules()
        await conn.execute(_STAGE)
        lap("begin")
        # The text was made by the parsing thread: this loop only streams it.
        await conn.copy_to_table(
            "bulk_stage_loans",
            source=io.BytesIO("".join(x.loan for x in loans).encode()),
            columns=_STAGE_LOAN_COLUMNS,
            format="text",
        )
        await conn.copy_to_table(
            "bulk_stage_installments",
            source=io.BytesIO("".join(x.installments for x in loans).encode()),
            columns=_STAGE_INSTALLMENT_COLUMNS,
            format="text",
        )
        lap("copy")
        shifting, shifts = await self._shifts(session, conn, loans)
        lap("calendar")
        if shifting:
            first_due = "coalesce(m.next_day, s.first_due_date)"
            statement = _INSERT_LOANS.format(
                first_due=first_due,
                bucket=bucket_on_sql(first_due, "$1::date", self.buckets),
                shift=_SHIFT_FIRST_DUE,
                shifts="product = ANY($6::text[])",
            )
            days, next_days = list(shifts), list(shifts.values())
            shift_args: tuple[Any, ...] = (days, next_days, list(shifting))
        else:
            first_due = "s.first_due_date"
            statement = _INSERT_LOANS.format(
                first_due=first_due, bucket=bucket_on_sql(first_due, "$1::date", self.buckets), shift="", shifts="false"
            )
            shift_args = ()
        created = {
            r[0]
            for r in await conn.fetch(statement, today, defaults.penalty_multiplier, defaults.grace_days, *shift_args)
        }
        lap("loans")
        if shifting:
            await conn.execute(_INSERT_SHIFTED_INSTALLMENTS, days, next_days)
        else:
            await conn.execute(_INSERT_INSTALLMENTS)
        lap("installments")
        outbox_text, history_text = self._registered_events(
            [x for x in loans if x.loan_id in created], today, shifting, shifts
        )
        await conn.copy_to_table("outbox", source=io.BytesIO(outbox_text), columns=_OUTBOX_COLUMNS, format="text")
        await conn.copy_to_table(
            "loan_events", source=io.BytesIO(history_text), columns=_HISTORY_COLUMNS, format="text"
        )
        lap("events")
        conflicts = [
            LineError(r["line_no"], r["loan_id"], f"loan {r['loan_id']} is already booked with different content")
            for r in await conn.fetch(_NOT_CREATED)
            if not r["same"]
        ]
        lap("outcomes")
        return len(created), conflicts

    async def _shifts(
        self, session: AsyncSession, conn: Any, loans: list[ParsedLoan]
    ) -> tuple[set[str], dict[date, date]]:
        """The chunk's products that shift due dates, and where each non-business day of their loans' terms moves."""
        shifting = {r[0] for r in await conn.fetch(_SHIFTING_PRODUCTS, list({x.product for x in loans}))}
        if not shifting:
            return shifting, {}
        shifted = [x for x in loans if x.product in shifting]
        calendar = await load_calendar(session, weekend=self.weekend)
        first, last = min(x.first_due_date for x in shifted), max(x.maturity_date for x in shifted)
        return shifting, calendar.shifts(first, last)

    def _registered_events(
        self, loans: list[ParsedLoan], today: date, shifting: set[str], shifts: dict[date, date]
    ) -> tuple[bytes, bytes]:
        """COPY text of the outbox and history rows of one loan-registered event per loan.

        The envelope is written out as text (as close_of_day builds it in SQL): a pydantic model
        per event would cost more than the rest of the load.
        """
        at = datetime.now(UTC).isoformat()
        correlation = json.dumps(self.correlation_id)
        headers = {"event-type": "loan-registered", "event-version": "1"}
        if self.correlation_id:
            headers["correlation-id"] = self.correlation_id
        header_text = json.dumps(headers)
        outbox_rows: list[str] = []
        history_rows: list[str] = []
        for loan in loans:
            event_id = str(uuid_utils.uuid7())
            registered = loan.registered
            if loan.product in shifting:
                registered = _with_due_dates(
                    registered,
                    shifts.get(loan.first_due_date, loan.first_due_date),
                    shifts.get(loan.maturity_date, loan.maturity_date),
                )
            envelope = (
                f'{{"id":"{event_id}","type":"loan-registered","version":1,"source":"{SOURCE}",'
                f'"subject":"{loan.loan_id}","time":"{at}","business_date":"{today}",'
                f'"correlation_id":{correlation},"causation_id":null,"data":{registered}}}'
            )
            outbox_rows.append(
                f"{event_id}\t{REPAYMENT_LOANS}\t{loan.loan_id}\tloan-registered\t"
                f"\\\\x{envelope.encode().hex()}\t{header_text}\n"
            )
            history_rows.append(f"{loan.loan_id}\t{event_id}\tloan-registered\t{today}\t{registered}\n")
        return "".join(outbox_rows).encode(), "".join(history_rows).encode()


# --- jobs ----------------------------------------------------------------------------------------


def new_job_id() -> str:
    """A fresh bulk job id."""
    return f"bulk-{uuid.uuid4().hex}"


async def create_job(session: AsyncSession, *, job_id: str, fmt: Format, submitted_by: str) -> None:
    """Record a job as running, in the caller's transaction."""
    await session.execute(
        insert(bulk_jobs).values(job_id=job_id, status="running", format=fmt, submitted_by=submitted_by)
    )


async def get_job(session: AsyncSession, *, job_id: str) -> dict[str, Any] | None:
    """The job's progress, or None when unknown."""
    row = (await session.execute(select(bulk_jobs).where(bulk_jobs.c.job_id == job_id))).mappings().first()
    return dict(row) if row is not None else None


async def load_file(
    sessions: async_sessionmaker[AsyncSession],
    *,
    job_id: str,
    path: Path,
    fmt: Format,
    initial_business_date: date,
    buckets: BucketScheme,
    chunk_size: int = DEFAULT_CHUNK,
    correlation_id: str | None = None,
    weekend: frozenset[int] = DEFAULT_WEEKEND,
) -> JobProgress:
    """Load `path` into the job `job_id` (already created); the job ends succeeded or failed.

    `weekend` is the settings' weekend_days (Settings.weekend()); loans of products that shift due
    dates fall due on business days as book_loans makes them.
    """
    progress = JobProgress(job_id)
    writer = _Writer(sessions, progress, initial_business_date, buckets, correlation_id, weekend)
    started = time.perf_counter()
    parsing: asyncio.Task[ParsedChunk | None] | None = None
    try:
        reader = BookingReader(path, fmt)
        parsing = asyncio.create_task(asyncio.to_thread(reader.next_chunk, chunk_size))
        carried: list[ParsedLoan] = []
        while True:
            waiting = time.perf_counter()
            chunk = await parsing
            parsing = None
            if chunk is None:
                break
            # Parse the next chunk while this one is written.
            parsing = asyncio.create_task(asyncio.to_thread(reader.next_chunk, chunk_size))
            waited = time.perf_counter() - waiting
            writer.timings["wait_for_parse"] = writer.timings.get("wait_for_parse", 0.0) + waited
            carried = await writer.write([*carried, *chunk.loans], chunk.errors, chunk.total)
            log.info(
                "bulk chunk loaded",
                job_id=job_id,
                total=progress.total,
                loaded=progress.loaded,
                unchanged=progress.unchanged,
                rejected=progress.rejected,
                loans_per_s=round(progress.total / (time.perf_counter() - started)),
            )
        while carried:
            carried = await writer.write(carried, [], 0)
        progress.status = "succeeded"
    except Exception as exc:
        progress.status = "failed"
        progress.errors = [*progress.errors[: MAX_ERRORS - 1], {"line": None, "loan_id": None, "reason": _failure(exc)}]
        log.exception("bulk job failed", job_id=job_id)
    finally:
        if parsing is not None:
            parsing.cancel()
    async with sessions.begin() as session:
        await session.execute(
            update(bulk_jobs)
            .where(bulk_jobs.c.job_id == job_id)
            .values(**progress.counters(), finished_at=datetime.now(UTC))
        )
    log.info(
        "bulk job finished",
        job_id=job_id,
        status=progress.status,
        total=progress.total,
        loaded=progress.loaded,
        unchanged=progress.unchanged,
        rejected=progress.rejected,
        seconds=round(time.perf_counter() - started, 1),
        step_seconds={k: round(v, 2) for k, v in writer.timings.items()},
    )
    return progress


def _failure(exc: Exception) -> str:
    if isinstance(exc, BulkFormatError | UnicodeDecodeError | OSError):
        return f"the file cannot be read: {exc}"
    return f"the job failed: {type(exc).__name__}: {exc}"[:500]
