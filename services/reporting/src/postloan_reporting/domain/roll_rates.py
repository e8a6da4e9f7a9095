"""The full roll-rate (migration) matrix between two dates, cures and closures included.

Rate i→j = balance in bucket i on the first date of the loans that are in j on the second date
÷ balance in i on the first date. Loans closed (paid off, written off) by the second date go to
the `closed` column; loans booked after the first date are not in the matrix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from postloan_reporting.domain.model import BUCKETS, CLOSED
from postloan_reporting.domain.ratios import ZERO, money, ratio

COLUMNS: tuple[str, ...] = (*BUCKETS, CLOSED)


@dataclass(frozen=True, slots=True)
class Migration:
    """Loans in bucket `from_bucket` on date 1 and `to_bucket` (None: closed) on date 2."""

    from_bucket: int
    to_bucket: int | None
    loans: int
    balance: Decimal


@dataclass(frozen=True, slots=True)
class Cell:
    to: str
    loans: int
    balance: Decimal
    rate: Decimal | None


@dataclass(frozen=True, slots=True)
class MatrixRow:
    from_bucket: str
    loans: int
    balance: Decimal
    cells: list[Cell]
    cure_rate: Decimal | None  # share moving to M0 (for M0: staying current)
    roll_forward_rate: Decimal | None  # share moving to a worse bucket


def matrix(migrations: Iterable[Migration]) -> list[MatrixRow]:
    """One row per bucket on date 1 with the share of its balance in each column on date 2."""
    cells: dict[tuple[int, int], tuple[int, Decimal]] = {}
    closed_index = len(BUCKETS)
    for m in migrations:
        key = (m.from_bucket, closed_index if m.to_bucket is None else m.to_bucket)
        loans, balance = cells.get(key, (0, ZERO))
        cells[key] = (loans + m.loans, balance + m.balance)
    rows = []
    for i, name in enumerate(BUCKETS):
        total_loans = sum(cells.get((i, j), (0, ZERO))[0] for j in range(len(COLUMNS)))
        total = sum((cells.get((i, j), (0, ZERO))[1] for j in range(len(COLUMNS))), ZERO)
        row_cells = []
        for j, column in enumerate(COLUMNS):
            loans, balance = cells.get((i, j), (0, ZERO))
            row_cells.append(Cell(column, loans, money(balance), ratio(balance, total)))
        worse = sum((cells.get((i, j), (0, ZERO))[1] for j in range(i + 1, len(BUCKETS))), ZERO)
        rows.append(
            MatrixRow(
                from_bucket=name,
                loans=total_loans,
                balance=money(total),
                cells=row_cells,
                cure_rate=ratio(cells.get((i, 0), (0, ZERO))[1], total),
                roll_forward_rate=ratio(worse, total),
            )
        )
    return rows
