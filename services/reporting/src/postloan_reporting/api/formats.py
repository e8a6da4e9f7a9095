"""JSON-safe report bodies and CSV tables (money and ratios as decimal strings)."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import Response

from postloan_reporting.domain.exports import csv_cell


def jsonable(value: Any) -> Any:
    """Dataclasses, Decimals and dates to plain JSON values (Decimals as strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def csv_response(rows: Iterable[Mapping[str, Any]], *, filename: str) -> Response:
    """A CSV download of `rows` (columns from the first row); formula-like text is neutralised."""
    # Neutralised before `jsonable`: a negative Decimal is a number, not text that starts with "-".
    rows = [jsonable({k: csv_cell(v) for k, v in r.items()}) for r in rows]
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
