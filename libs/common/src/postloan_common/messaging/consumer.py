"""The consumer loop: batch poll, inbox de-duplication, one transaction per batch, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError
from sqlalchemy import Table, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.catalog import dead_letter_topic
from postloan_common.logging import bound_contextvars, get_logger
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.kafka import make_consumer

log = get_logger(__name__)

EVENTS = Counter(
    "consumer_events_total",
    "Consumed events by outcome (handled, duplicate, ignored, dead_lettered)",
    ["consumer", "topic", "outcome"],
)
FAILURES = Counter("consumer_batch_failures_total", "Batches rolled back for a transient error", ["consumer"])
LAG = Gauge("consumer_lag", "Records behind the partition high-water mark", ["consumer", "topic", "partition"])
BATCH_SECONDS = Histogram(
    "consumer_batch_duration_seconds",
    "Time to apply and commit one polled batch",
    ["consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
BatchHook = Callable[[AsyncSession, Sequence[Envelope]], Awaitable[None]]

# Synthetic inbox ids for records that carry no readable event id.
_MALFORMED_NAMESPACE = uuid.UUID("6f1c2a4e-5b0d-4c61-9a57-9d7f3f2f5d10")
_MAX_KEY = 200  # outbox.key
_MAX_HEADERS = 50


@dataclass(frozen=True)
class Barrier:
    """Hold each partition just after an `event_type` event until `released` says all partitions got there.

    `day-closed` is written to every partition; a consumer whose work at the close of a day must not
    see the next day's events (risk-alert's re-scoring) holds each partition at it.
    """

    event_type: str
    released: Callable[[AsyncSession, Envelope], Awaitable[bool]]
    check_interval_s: float = 0.2


class PermanentError(Exception):
    """Raised by a handler when retrying the event can never succeed; the event is dead-lettered."""


@dataclass
class ConsumerConfig:
    name: str
    topics: Sequence[str]
    bootstrap_servers: str
    batch_size: int = 500
    poll_timeout_ms: int = 200
    session_timeout_ms: int = 10_000
    max_backoff_s: float = 10.0


@dataclass
class _Item:
    record: ConsumerRecord
    envelope: Envelope | None
    error: str | None
    inbox_id: uuid.UUID = field(init=False)

    def __post_init__(self) -> None:
        self.inbox_id = self.envelope.id if self.envelope is not None else _locator_id(self.record)


def _locator_id(record: ConsumerRecord) -> uuid.UUID:
    """A stable inbox id for a record whose own event id cannot be used."""
    return uuid.uuid5(_MALFORMED_NAMESPACE, f"{record.topic}:{record.partition}:{record.offset}")


class Consumer:
    """Apply events from `topics` to the service database, exactly once per (consumer, event id)."""

    def __init__(
        self,
        config: ConsumerConfig,
        *,
        sessions: async_sessionmaker[AsyncSession],
        inbox: Table,
        outbox: Table,
        handlers: Mapping[str, Handler] | None = None,
        batch_handlers: Mapping[str, BatchHook] | None = None,
        after_batch: BatchHook | None = None,
        barrier: Barrier | None = None,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.inbox = inbox
        self.outbox = outbox
        self.handlers = dict(handlers or {})
        # Called once per run of consecutive events of one type, for set-based handling at volume.
        self.batch_handlers = dict(batch_handlers or {})
        self.after_batch = after_batch
        self.barrier = barrier
        self._held: dict[TopicPartition, Envelope] = {}
        self._last_release_check = 0.0
        self._consumer: AIOKafkaConsumer | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Poll and apply batches until `stop` is set."""
        consumer = make_consumer(
            *self.config.topics,
            bootstrap_servers=self.config.bootstrap_servers,
            group_id=self.config.name,
            session_timeout_ms=self.config.session_timeout_ms,
            max_poll_records=self.config.batch_size,
            client_id=self.config.name,
        )
        await consumer.start()
        self._consumer = consumer
        log.info("consumer started", consumer=self.config.name, topics=list(self.config.topics))
        try:
            while not stop.is_set():
                batches = await consumer.getmany(
                    timeout_ms=self.config.poll_timeout_ms, max_records=self.config.batch_size
                )
                for tp, records in batches.items():
                    if records and not stop.is_set():
                        cut = self._barrier_at(records)
                        applied = records if cut is None else records[: cut[0] + 1]
                        await self._apply_with_retry(tp, applied, stop)
                        self._export_lag(consumer, tp, applied[-1].offset + 1)
                        if cut is not None and not stop.is_set():
                            # Records after the barrier are fetched again once it is released.
                            consumer.seek(tp, applied[-1].offset + 1)
                            consumer.pause(tp)
                            self._held[tp] = cut[1]
                if self._held:
                    await self._release_held(consumer)
        finally:
            self._consumer = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(consumer.stop(), 10)

    def _barrier_at(self, records: Sequence[ConsumerRecord]) -> tuple[int, Envelope] | None:
        """Index and envelope of the first barrier event in `records`, if any."""
        if self.barrier is None:
            return None
        marker = f'"{self.barrier.event_type}"'.encode()
        for index, record in enumerate(records):
            if record.value and marker in record.value:
                item = _parse(record)
                if item.envelope is not None and item.envelope.type == self.barrier.event_type:
                    return index, item.envelope
        return None

    async def _release_held(self, consumer: AIOKafkaConsumer) -> None:
        assert self.barrier is not None
        now = time.monotonic()
        if now - self._last_release_check < self.barrier.check_interval_s:
            return
        self._last_release_check = now
        assigned = consumer.assignment()
        for tp, envelope in list(self._held.items()):
            if tp not in assigned:
                del self._held[tp]  # revoked: the next owner starts after the barrier anyway
                continue
            try:
                async with self.sessions() as session:
                    released = await self.barrier.released(session, envelope)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("barrier check failed, retrying", error=repr(exc), partition=tp.partition)
                return  # asked again on the next pass
            if released:
                consumer.resume(tp)
                del self._held[tp]

    async def _apply_with_retry(self, tp: TopicPartition, records: list[ConsumerRecord], stop: asyncio.Event) -> None:
        backoff = 0.1
        while True:
            try:
                with BATCH_SECONDS.labels(self.config.name).time():
                    await self.apply_batch(records)
                break
            except Exception as exc:
                if not is_transient(exc):
                    raise
                FAILURES.labels(self.config.name).inc()
                log.warning("batch rolled back, retrying", error=repr(exc), backoff_s=backoff, partition=tp.partition)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                if stop.is_set():
                    return  # not committed: the next owner re-reads these records
                backoff = min(backoff * 2, self.config.max_backoff_s)
        await self._commit(tp, records[-1].offset + 1)

    async def _commit(self, tp: TopicPartition, next_offset: int) -> None:
        assert self._consumer is not None
        try:
            await self._consumer.commit({tp: next_offset})
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            # A rebalance took the partition away; the inbox makes the redelivery harmless.
            log.warning("offset commit failed", error=repr(exc), partition=tp.partition)

    async def apply_batch(self, records: Sequence[ConsumerRecord]) -> None:
        """Apply one batch in one transaction; dead-letter the events that cannot be applied."""
        items = [_parse(record) for record in records]
        try:
            async with self.sessions.begin() as session:
                await self._apply(session, items, isolate=False)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.info("batch failed, applying event by event to isolate the poison", error=repr(exc))
            async with self.sessions.begin() as session:
                await self._apply(session, items, isolate=True)

    async def _apply(self, session: AsyncSession, items: list[_Item], *, isolate: bool) -> None:
        fresh_ids = await (self._claim_each(session, items) if isolate else self._claim(session, items))
        todo: list[_Item] = []
        for item in items:
            if item.inbox_id not in fresh_ids:
                EVENTS.labels(self.config.name, item.record.topic, "duplicate").inc()
                continue
            fresh_ids.discard(item.inbox_id)  # the same event twice in one batch applies once
            if item.envelope is None:
                await self._dead_letter_safely(session, item, item.error or "malformed")
            elif item.envelope.type in self.handlers or item.envelope.type in self.batch_handlers:
                todo.append(item)
            else:
                EVENTS.labels(self.config.name, item.record.topic, "ignored").inc()
        applied: list[Envelope] = []
        if not isolate:
            for run in _runs_of_one_type(todo):
                await self._dispatch(session, run)
            applied = [item.envelope for item in todo if item.envelope is not None]
        else:
            for item in todo:
                assert item.envelope is not None
                try:
                    async with session.begin_nested():
                        await self._dispatch(session, [item])
                    applied.append(item.envelope)
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    await self._dead_letter_safely(session, item, _reason(exc))
        if self.after_batch is not None and applied:
            await self.after_batch(session, applied)
        if applied:
            EVENTS.labels(self.config.name, items[0].record.topic, "handled").inc(len(applied))

    async def _dispatch(self, session: AsyncSession, run: list[_Item]) -> None:
        envelopes = [item.envelope for item in run if item.envelope is not None]
        batch_handler = self.batch_handlers.get(envelopes[0].type)
        if batch_handler is not None:
            await batch_handler(session, envelopes)
            return
        handler = self.handlers[envelopes[0].type]
        for envelope in envelopes:
            with bound_contextvars(event_id=str(envelope.id), correlation_id=envelope.correlation_id):
                await handler(session, envelope)

    async def _claim(self, session: AsyncSession, items: list[_Item]) -> set[uuid.UUID]:
        """Insert inbox rows; return the ids that were not seen before."""
        rows = [
            {
                "consumer": self.config.name,
                "event_id": item.inbox_id,
                "event_type": _bounded(item.envelope.type if item.envelope else "<malformed>", 100),
                "topic": _bounded(item.record.topic, 200),
                "partition": item.record.partition,
                "offset": item.record.offset,
            }
            for item in items
        ]
        unique = list({row["event_id"]: row for row in rows}.values())
        stmt = pg_insert(self.inbox).on_conflict_do_nothing().returning(self.inbox.c.event_id)
        result = (
            await session.execute(stmt, unique) if len(unique) > 1 else await session.execute(stmt.values(unique[0]))
        )
        return {row[0] for row in result}

    async def _claim_each(self, session: AsyncSession, items: list[_Item]) -> set[uuid.UUID]:
        """Claim records one at a time, so a record whose inbox row cannot be written is dead-lettered alone."""
        fresh: set[uuid.UUID] = set()
        for item in items:
            try:
                async with session.begin_nested():
                    fresh |= await self._claim(session, [item])
            except Exception as exc:
                if is_transient(exc):
                    raise
                item.envelope, item.error = None, f"unstorable record: {_reason(exc)}"
                item.inbox_id = _locator_id(item.record)
                async with session.begin_nested():
                    fresh |= await self._claim(session, [item])
        return fresh

    async def _dead_letter_safely(self, session: AsyncSession, item: _Item, reason: str) -> None:
        """Dead-letter `item`; if even that write fails, dead-letter its coordinates and the reason only."""
        try:
            async with session.begin_nested():
                await self._dead_letter(session, item, reason)
            return
        except Exception as exc:
            if is_transient(exc):
                raise
            log.error("dead letter refused, writing a minimal one", error=type(exc).__name__, topic=item.record.topic)
            failure = f"{reason}; the full dead letter could not be stored: {_reason(exc)}"
        bare = _Item(_bare_record(item.record), None, item.error)
        bare.inbox_id = item.inbox_id
        await self._dead_letter(session, bare, failure)

    async def _dead_letter(self, session: AsyncSession, item: _Item, reason: str) -> None:
        record = item.record
        headers = {
            "dlt-reason": _bounded(reason, 4000),
            "dlt-consumer": self.config.name,
            "dlt-original-topic": record.topic,
            "dlt-original-partition": str(record.partition),
            "dlt-original-offset": str(record.offset),
        }
        for name, value in list(record.headers or ())[:_MAX_HEADERS]:
            name = _bounded(str(name), 200)
            if name not in headers:
                headers[name] = _bounded((value or b"").decode(errors="replace"), 1000)
        await session.execute(
            insert(self.outbox).values(
                event_id=uuid.uuid5(_MALFORMED_NAMESPACE, f"dlt:{self.config.name}:{item.inbox_id}"),
                topic=dead_letter_topic(record.topic),
                key=_outbox_key(record.key) or str(item.inbox_id),
                event_type=_bounded(item.envelope.type if item.envelope else "<malformed>", 100),
                payload=record.value or b"",
                headers=headers,
            )
        )
        await session.execute(
            update(self.inbox)
            .where(self.inbox.c.consumer == self.config.name, self.inbox.c.event_id == item.inbox_id)
            .values(event_type=f"dead-lettered:{(item.envelope.type if item.envelope else 'malformed')}"[:100])
        )
        EVENTS.labels(self.config.name, record.topic, "dead_lettered").inc()
        log.warning(
            "event dead-lettered",
            reason=_bounded(reason, 500),
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )

    def _export_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition, next_offset: int) -> None:
        # Tansu's end_offsets() is wrong; the fetch response's high-water mark is right.
        highwater = consumer.highwater(tp)
        if highwater is not None:
            LAG.labels(self.config.name, tp.topic, str(tp.partition)).set(max(0, highwater - next_offset))


def _runs_of_one_type(items: list[_Item]) -> list[list[_Item]]:
    """Split into consecutive runs of one event type, so batch handlers keep the order of events."""
    runs: list[list[_Item]] = []
    for item in items:
        assert item.envelope is not None
        if runs and runs[-1][0].envelope.type == item.envelope.type:  # type: ignore[union-attr]
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _parse(record: ConsumerRecord) -> _Item:
    try:
        return _Item(record, Envelope.from_bytes(record.value), None)
    except (ValidationError, ValueError, UnicodeDecodeError) as exc:
        return _Item(record, None, f"malformed envelope: {_reason(exc)}")


def _reason(exc: BaseException) -> str:
    """Why an event failed, without the values it carried (they may be PII)."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False, include_context=False)[:20]
        )
        return _bounded(f"{exc.error_count()} validation error(s) for {exc.title}: {problems}", 4000)
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return _bounded(summary, 4000)


def _bounded(text: str, limit: int) -> str:
    """`text` as PostgreSQL text and JSONB accept it: no NUL characters, at most `limit` characters."""
    cleaned = text.replace("\x00", "\ufffd")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _outbox_key(raw: bytes | None) -> str:
    """A record key as the outbox's VARCHAR(200) key column takes it; an over-long key keeps a digest."""
    key = _bounded((raw or b"").decode(errors="replace"), 10_000)
    if len(key) <= _MAX_KEY:
        return key
    digest = hashlib.sha256(raw or b"").hexdigest()[:16]
    return f"{key[: _MAX_KEY - 18]}~{digest}"


def _bare_record(record: ConsumerRecord) -> ConsumerRecord:
    """The record with only what is safe to store: no key, no headers; the value stays as bytes."""
    return dataclasses.replace(record, key=None, headers=())


# Serialization failure, deadlock, lock not available, server shutting down or admin-terminated,
# connection failures.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "08000", "08003", "08006"})


def is_transient(exc: BaseException) -> bool:
    """True for failures that retrying the same batch can cure (connections, deadlocks, timeouts)."""
    if isinstance(exc, PermanentError):
        return False
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(
            getattr(exc.orig, "__cause__", None), "sqlstate", None
        )
        return sqlstate in _TRANSIENT_SQLSTATES
    # Raised on the raw asyncpg connection (driver_connection), not wrapped by SQLAlchemy.
    if getattr(exc, "sqlstate", None) in _TRANSIENT_SQLSTATES:
        return True
    if isinstance(exc, OSError | TimeoutError | ConnectionError):
        return True
    name = type(exc).__name__
    return name in {
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",
        "TooManyConnectionsError",
        "InternalClientError",  # asyncpg state confusion after the server dropped the connection
        "ConnectionResetError",
    }
