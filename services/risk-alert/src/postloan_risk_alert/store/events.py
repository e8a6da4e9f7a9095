"""Outbox events built in SQL from a CTE of (subject, data) rows: one statement per event type and chunk.

The statement and its parameters come from the shared outbox encoder (postloan_common.messaging.encoding),
so these rows have the ids, envelope and headers of every other path.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from postloan_common.catalog import RISK_SCORES
from postloan_common.messaging.encoding import SQL_PARAMS, outbox_insert_sql, positional_params, sql_params

SOURCE = "risk-alert"


def emit_sql(*, source: str, type_: str, first_param: int) -> str:
    """A statement inserting one outbox event per row of CTE `source` (columns: subject, data).

    Parameters from `first_param`: the values of `envelope_params`, in that order.
    """
    return outbox_insert_sql(
        rows=source, topic=RISK_SCORES, type=type_, source=SOURCE, param=positional_params(first_param)
    )


def envelope_params(business_date: date, correlation: str | None, type_: str) -> list[Any]:
    """The values `emit_sql`'s statement binds from its `first_param` on."""
    values = sql_params(type=type_, business_date=business_date, correlation_id=correlation)
    return [values[name] for name in SQL_PARAMS]
