"""The shared outbox encoder writes rows a consumer cannot tell from those `outbox.add_event` writes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import asyncpg
import pytest
from demo_app import create_schema, outbox
from sqlalchemy import insert, select

from postloan_common.db import create_engine, driver_connection, session_factory
from postloan_common.messaging.encoding import (
    OUTBOX_COPY_COLUMNS,
    OutboxEvent,
    copy_records,
    encode_envelope,
    outbox_values,
)
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.outbox import outbox_row


def _event(**overrides) -> OutboxEvent:
    fields = dict(
        type="loan-overdue",
        source="repayment-monitor",
        subject="L-1",
        data={"amount": Decimal("10.50"), "dpd": 3, "name": "Zoë", "due_date": "2026-01-02", "none": None},
        business_date=date(2026, 1, 2),
        correlation_id="corr-1",
        causation_id="cause-1",
    )
    return OutboxEvent(**{**fields, **overrides})


def _same_envelope(event: OutboxEvent) -> Envelope:
    return Envelope(
        id=event.id,
        type=event.type,
        version=event.version,
        source=event.source,
        subject=event.subject,
        time=event.time,
        business_date=event.business_date,
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        data=json.loads(Envelope(type="x", source="s", subject="s", data=dict(event.data)).to_bytes())["data"],
    )


def test_event_ids_are_uuidv7_and_time_ordered():
    first, second = _event(), _event()
    assert first.id.version == 7 and second.id.version == 7
    assert first.id < second.id


@pytest.mark.parametrize("time", [datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 5, 6)])
def test_payload_bytes_equal_envelope_to_bytes(time):
    # A naive time is refused like the Envelope refuses it; an aware one encodes byte for byte the same.
    if time.tzinfo is None:
        with pytest.raises(ValueError):
            encode_envelope(_event(time=time))
        return
    event = _event(time=time)
    assert encode_envelope(event) == _same_envelope(event).to_bytes()


def test_payload_decodes_to_the_same_envelope_with_non_utc_time_and_nulls():
    event = _event(time=datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone(timedelta(hours=2))), correlation_id=None)
    decoded = Envelope.from_bytes(encode_envelope(event))
    assert decoded == _same_envelope(event)
    assert decoded.data["amount"] == "10.50"  # money travels as a string, never a float
    assert decoded.time == datetime(2026, 1, 2, 1, 4, 5, 123456, tzinfo=UTC)


@pytest.mark.parametrize("correlation_id", ["corr-1", None])
def test_rows_carry_the_same_columns_and_headers_as_outbox_row(correlation_id):
    event = _event(correlation_id=correlation_id, partition=2, headers={"x-extra": "1"})
    envelope = Envelope.from_bytes(encode_envelope(event))
    expected = outbox_row(envelope, topic="repayment.loans", partition=2, headers={"x-extra": "1"})
    assert outbox_values(event, topic="repayment.loans") == expected


def test_copy_records_follow_the_column_order():
    event = _event()
    (record,) = copy_records([event], topic="t")
    row = dict(zip(OUTBOX_COPY_COLUMNS, record, strict=True))
    values = outbox_values(event, topic="t")
    assert {**row, "headers": json.loads(row["headers"])} == values


@pytest.fixture
async def demo_db(database_url):
    engine = create_engine(database_url)
    await create_schema(engine)
    yield engine
    await engine.dispose()


@pytest.mark.integration
async def test_rows_written_by_executemany_and_copy_read_back_like_add_event(demo_db):
    bulk, copied = _event(subject="L-bulk"), _event(subject="L-copy", correlation_id=None)
    async with session_factory(demo_db)() as session, session.begin():
        await session.execute(insert(outbox), [outbox_values(bulk, topic="t")])
        raw = await driver_connection(session)
        assert isinstance(raw, asyncpg.Connection)
        await raw.copy_records_to_table(
            "outbox", records=copy_records([copied], topic="t"), columns=OUTBOX_COPY_COLUMNS
        )
    async with session_factory(demo_db)() as session:
        rows = (await session.execute(select(outbox).order_by(outbox.c.id))).mappings().all()
    assert [r["event_id"] for r in rows] == [bulk.id, copied.id]
    for row, event in zip(rows, [bulk, copied], strict=True):
        envelope = Envelope.from_bytes(row["payload"])
        assert envelope == _same_envelope(event)
        assert row["headers"] == outbox_row(envelope, topic="t")["headers"]
        assert row["key"] == event.subject and uuid.UUID(str(row["event_id"])).version == 7


@pytest.mark.integration
async def test_rows_built_in_sql_read_back_like_add_event(demo_db):
    from postloan_common.messaging.encoding import SQL_PARAMS, outbox_insert_sql, positional_params, sql_params

    now = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    params = sql_params(type="loan-overdue", business_date=date(2026, 1, 2), correlation_id="corr-1", now=now)
    statement = (
        "WITH d AS (SELECT 'L-' || n AS subject, json_build_object('n', n, 'amount', '10.50') AS data "
        "FROM generate_series(1, 3) AS n)\n"
        + outbox_insert_sql(
            rows="d", topic="t", type="loan-overdue", source="repayment-monitor", param=positional_params(1)
        )
    )
    async with session_factory(demo_db)() as session, session.begin():
        raw = await driver_connection(session)
        await raw.execute(statement, *(params[name] for name in SQL_PARAMS))
    async with session_factory(demo_db)() as session:
        rows = (await session.execute(select(outbox).order_by(outbox.c.id))).mappings().all()
    assert len({r["event_id"] for r in rows}) == 3
    for row in rows:
        envelope = Envelope.from_bytes(row["payload"])
        event_id = uuid.UUID(str(row["event_id"]))
        assert event_id.version == 7 and envelope.id == event_id
        # The id's timestamp is the statement's millisecond, as a UUIDv7 minted then would carry.
        assert event_id.int >> 80 == int(now.timestamp() * 1000)
        assert envelope.time == now and envelope.correlation_id == "corr-1" and envelope.data["amount"] == "10.50"
        assert row["headers"] == outbox_row(envelope, topic="t")["headers"]
        assert row["key"] == envelope.subject
