"""Bulk load events: the outbox and history rows of one `loan-registered` event per loan created."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import uuid_utils

from postloan_common.catalog import REPAYMENT_LOANS
from postloan_repayment_monitor.service.bulk_parse import ParsedLoan, with_due_dates
from postloan_repayment_monitor.service.events import SOURCE


def registered_events(
    loans: list[ParsedLoan], *, today: date, correlation_id: str | None, shifting: set[str], shifts: dict[date, date]
) -> tuple[bytes, bytes]:
    """COPY text of the outbox and history rows of one loan-registered event per loan.

    The envelope is written out as text (as close_of_day builds it in SQL): a pydantic model
    per event would cost more than the rest of the load.
    """
    at = datetime.now(UTC).isoformat()
    correlation = json.dumps(correlation_id)
    headers = {"event-type": "loan-registered", "event-version": "1"}
    if correlation_id:
        headers["correlation-id"] = correlation_id
    header_text = json.dumps(headers)
    outbox_rows: list[str] = []
    history_rows: list[str] = []
    for loan in loans:
        event_id = str(uuid_utils.uuid7())
        registered = loan.registered
        if loan.product in shifting:
            registered = with_due_dates(
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
