"""Bulk load events: the outbox and history rows of one `loan-registered` event per loan created.

Outbox rows come from the shared encoder (postloan_common.messaging.encoding), as every other path's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson

from postloan_common.catalog import REPAYMENT_LOANS
from postloan_common.messaging.encoding import OutboxEvent, copy_records
from postloan_repayment_monitor.service.bulk_parse import ParsedLoan, with_due_dates
from postloan_repayment_monitor.service.events import SOURCE


def registered_events(
    loans: list[ParsedLoan], *, today: date, correlation_id: str | None, shifting: set[str], shifts: dict[date, date]
) -> tuple[list[tuple[Any, ...]], bytes]:
    """Outbox records (encoding.OUTBOX_COPY_COLUMNS) and history COPY text of one loan-registered event per loan."""
    at = datetime.now(UTC)
    events: list[OutboxEvent] = []
    history_rows: list[str] = []
    for loan in loans:
        registered = loan.registered
        if loan.product in shifting:
            registered = with_due_dates(
                registered,
                shifts.get(loan.first_due_date, loan.first_due_date),
                shifts.get(loan.maturity_date, loan.maturity_date),
            )
        event = OutboxEvent(
            type="loan-registered",
            source=SOURCE,
            subject=loan.loan_id,
            data=orjson.loads(registered),
            business_date=today,
            correlation_id=correlation_id,
            time=at,
        )
        events.append(event)
        history_rows.append(f"{loan.loan_id}\t{event.id}\tloan-registered\t{today}\t{registered}\n")
    return list(copy_records(events, topic=REPAYMENT_LOANS)), "".join(history_rows).encode()
