"""Risk-alert's outbox events: one at a time (`publish`), or in SQL from a CTE of (subject, data) rows (`emit_sql`).

The SQL statement (one per event type and chunk) and its parameters come from the shared outbox
encoder (postloan_common.messaging.encoding), so these rows have the ids, envelope and headers of
every other path.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.catalog import RISK_SCORES
from postloan_common.contracts import make_envelope
from postloan_common.contracts.common import EventData
from postloan_common.messaging.encoding import SQL_PARAMS, outbox_insert_sql, positional_params, sql_params
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.outbox import add_event
from postloan_risk_alert.store.tables import outbox

SOURCE = "risk-alert"


def risk_event(data: EventData, *, subject: str, business_date: date, correlation_id: str | None) -> Envelope:
    """An event of risk-alert's about `subject` (no correlation id when the request gave an empty one)."""
    return make_envelope(
        data=data, source=SOURCE, subject=subject, business_date=business_date, correlation_id=correlation_id or None
    )


async def publish(
    session: AsyncSession, data: EventData, *, subject: str, business_date: date, correlation_id: str | None
) -> None:
    """Add the event to the outbox of `risk.scores`, in the caller's transaction."""
    event = risk_event(data, subject=subject, business_date=business_date, correlation_id=correlation_id)
    await add_event(session, outbox, event, topic=RISK_SCORES)


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
