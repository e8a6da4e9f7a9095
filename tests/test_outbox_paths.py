"""Contract: every path that writes outbox rows writes the same envelope, UUIDv7 ids and the same headers.

The paths: the pydantic `Envelope` (repayment-monitor's EventBuffer and day-closed), close of day's
set-based SQL, the bulk load's COPY, and risk-alert's `emit_sql` statements. A consumer must not be
able to tell which one wrote an event (docs/architecture.md, the shared outbox encoder).
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from postloan_common.db import driver_connection, engine_scope, session_factory
from postloan_common.messaging.encoding import outbox_headers
from postloan_common.messaging.envelope import Envelope

pytestmark = pytest.mark.integration

CORRELATION = "corr-outbox-contract"
TODAY = date(2026, 1, 5)


async def _outbox(url: str) -> list[dict]:
    async with engine_scope(url) as engine, engine.connect() as conn:
        rows = await conn.execute(text("SELECT event_id, key, event_type, payload, headers FROM outbox ORDER BY id"))
        return [dict(r._mapping) for r in rows]


def _check(row: dict) -> Envelope:
    envelope = Envelope.from_bytes(bytes(row["payload"]))
    event_id = uuid.UUID(str(row["event_id"]))
    assert event_id.version == 7, f"{row['event_type']}: event id {event_id} is not a UUIDv7"
    assert envelope.id == event_id
    assert envelope.type == row["event_type"] and envelope.subject == row["key"]
    assert envelope.correlation_id == CORRELATION
    expected = outbox_headers(type=envelope.type, version=envelope.version, correlation_id=envelope.correlation_id)
    assert row["headers"] == expected, f"{row['event_type']}: headers {row['headers']} differ from {expected}"
    return envelope


async def _repayment_monitor_rows(url: str, tmp_path: Path) -> dict[str, list[dict]]:
    from postloan_repayment_monitor.domain.rules import BucketScheme
    from postloan_repayment_monitor.service import bulk
    from postloan_repayment_monitor.service.close_of_day import close_day
    from postloan_repayment_monitor.service.events import EventBuffer
    from postloan_repayment_monitor.service.intake import BookLoan, Terms, book_loans

    # Due on D + 1 + 7: close of D emits its T-7 payment-due.
    terms = Terms("annuity", 3, date(2026, 1, 13))
    booking = BookLoan("L-EV", "C-1", "retail", "B1", "EUR", Decimal("300.00"), Decimal("0.12"), TODAY, terms=terms)
    bulk_line = {
        "loan_id": "L-BULK",
        "customer_id": "C-2",
        "product": "retail",
        "branch": "B1",
        "currency": "EUR",
        "principal": "300.00",
        "annual_rate": "0.12",
        "disbursed_on": "2026-01-05",
        "terms": {"method": "annuity", "months": 3, "first_due_date": "2026-02-20"},
    }
    path = tmp_path / "bulk.ndjson"
    path.write_text(json.dumps(bulk_line) + "\n")
    async with engine_scope(url) as engine:
        sessions = session_factory(engine)
        async with sessions.begin() as session:
            events = EventBuffer(TODAY, correlation_id=CORRELATION)
            await book_loans(
                session,
                commands=[booking],
                business_date=TODAY,
                via="rest",
                events=events,
                buckets=BucketScheme(),
                weekend=frozenset({6, 7}),
            )
            await events.flush(session)
        job_id = bulk.new_job_id()
        async with sessions.begin() as session:
            await bulk.create_job(session, job_id=job_id, fmt="ndjson", submitted_by="test")
        progress = await bulk.load_file(
            sessions,
            job_id=job_id,
            path=path,
            fmt="ndjson",
            initial_business_date=TODAY,
            buckets=BucketScheme(),
            correlation_id=CORRELATION,
        )
        assert progress.loaded == 1, progress.errors
        async with sessions.begin() as session:
            await close_day(
                session, expected=TODAY, initial=TODAY, buckets=BucketScheme(), partitions=1, correlation_id=CORRELATION
            )
    rows = await _outbox(url)
    return {
        "pydantic (EventBuffer)": [r for r in rows if r["key"] == "L-EV" and r["event_type"] == "loan-registered"],
        "bulk COPY": [r for r in rows if r["key"] == "L-BULK" and r["event_type"] == "loan-registered"],
        "close of day SQL": [r for r in rows if r["event_type"] == "payment-due"],
        "pydantic (day-closed)": [r for r in rows if r["event_type"] == "day-closed"],
    }


async def _risk_alert_rows(url: str) -> list[dict]:
    from postloan_risk_alert.store.events import emit_sql, envelope_params

    statement = (
        "WITH d AS (SELECT 'L-RA' AS subject, json_build_object('loan_id', 'L-RA', 'score', 700) AS data)\n"
        + emit_sql(source="d", type_="risk-score-changed", first_param=1)
    )
    async with engine_scope(url) as engine, session_factory(engine).begin() as session:
        conn = await driver_connection(session)
        await conn.execute(statement, *envelope_params(TODAY, CORRELATION, "risk-score-changed"))
    return await _outbox(url)


async def test_every_outbox_path_writes_the_same_envelope_ids_and_headers(migrated_database, tmp_path):
    paths = await _repayment_monitor_rows(await migrated_database("postloan_repayment_monitor"), tmp_path)
    paths["risk-alert emit_sql"] = await _risk_alert_rows(await migrated_database("postloan_risk_alert"))
    header_keys = set()
    for name, rows in paths.items():
        assert rows, f"{name} wrote no outbox row"
        for row in rows:
            envelope = _check(row)
            assert envelope.business_date is not None, name
            header_keys.add(frozenset(row["headers"]))
    # One header set on every path: event-type, event-version and correlation-id.
    assert header_keys == {frozenset({"event-type", "event-version", "correlation-id"})}
    (risk,) = paths["risk-alert emit_sql"]
    assert Envelope.from_bytes(bytes(risk["payload"])).data == {"loan_id": "L-RA", "score": 700}
