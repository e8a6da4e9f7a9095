"""Set-based writes: rows bound as one array per column and expanded with `unnest(...)` in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql


def columns_of(rows: Sequence[Sequence[Any]], width: int | None = None) -> list[list[Any]]:
    """Turn rows into one list per column (the unnest() parameters); `width` gives the empty case its shape."""
    if not rows:
        return [[] for _ in range(width or 0)]
    return [list(column) for column in zip(*rows, strict=True)]


def array_types(table: Table, columns: Sequence[str]) -> list[str]:
    """The PostgreSQL array type of each column, e.g. `VARCHAR[]`."""
    # Without length or scale: an explicit cast to varchar(n) would truncate silently, the
    # assignment to the column refuses what does not fit.
    dialect = postgresql.dialect()
    return [f"{table.c[name].type.compile(dialect=dialect).split('(')[0]}[]" for name in columns]


def unnest_sql(table: Table, columns: Sequence[str], *, first_param: int = 1) -> str:
    """`unnest($1::type[], …)` over `columns` of `table`, one positional array parameter each."""
    kinds = array_types(table, columns)
    casts = ", ".join(f"${i}::{kind}" for i, kind in enumerate(kinds, start=first_param))
    return f"unnest({casts})"
