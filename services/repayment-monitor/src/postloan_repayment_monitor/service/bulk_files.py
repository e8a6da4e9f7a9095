"""Bulk files read as booking bodies: NDJSON lines or CSV rows, chunk by chunk.

- ``ndjson``: one POST /v1/loans body per line (blank lines are skipped).
- ``csv`` with a header row; the header decides the layout:
  - one row per installment: ``loan_id, customer_id, product, branch, currency, principal,
    annual_rate, disbursed_on, seq, due_date, installment_principal, interest, fee`` (an empty
    fee is 0.00). The loan columns repeat on every row of the loan, a loan's rows are
    consecutive and must agree on them;
  - one row per loan with terms: the same loan columns and ``method, months, first_due_date``.
  A loan's line number is the file line of its first row (the header is line 1).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from postloan_repayment_monitor.service.bulk_parse import (
    INSTALLMENT_COLUMNS,
    LOAN_COLUMNS,
    TERMS_COLUMNS,
    BulkFormatError,
    Format,
    LineError,
    ParsedChunk,
    ParsedLoan,
    parse_booking,
)

try:  # a faster parser when installed; the standard one otherwise
    import orjson

    _loads: Any = orjson.loads
    _JSON_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)
except ImportError:  # pragma: no cover - orjson is in the lock file today
    _loads = json.loads
    _JSON_ERRORS = (json.JSONDecodeError, UnicodeDecodeError)


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
