"""The consumer loop: batch poll, inbox de-duplication, one transaction per batch, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.logging import bound_contextvars, get_logger
from postloan_common.messaging.consumer_metrics import BATCH_SECONDS, EVENTS, FAILURES, LAG
from postloan_common.messaging.deadletter import dead_letter_safely
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.errors import PermanentError, is_transient
from postloan_common.messaging.inbox import claim, claim_each
from postloan_common.messaging.kafka import make_consumer
from postloan_common.messaging.records import Decoder, Item, parse, reason

# Re-exported: handlers and workers import these from here.
__all__ = [
    "Barrier",
    "BatchHook",
    "Consumer",
    "ConsumerConfig",
    "Decoder",
    "Handler",
    "PermanentError",
    "is_transient",
]

log = get_logger(__name__)

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
BatchHook = Callable[[AsyncSession, Sequence[Envelope]], Awaitable[None]]


@dataclass(frozen=True)
class Barrier:
    """Hold each partition just after an `event_type` event until `released` says all partitions got there.

    `day-closed` is written to every partition; a consumer whose work at the close of a day must not
    see the next day's events (risk-alert's re-scoring) holds each partition at it.
    """

    event_type: str
    released: Callable[[AsyncSession, Envelope], Awaitable[bool]]
    check_interval_s: float = 0.2


@dataclass
class ConsumerConfig:
    name: str
    topics: Sequence[str]
    bootstrap_servers: str
    batch_size: int = 500
    poll_timeout_ms: int = 200
    session_timeout_ms: int = 10_000
    max_backoff_s: float = 10.0


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
        decode: Decoder | None = None,
    ) -> None:
        self.config = config
        self.decode = decode
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
                item = parse(record, self.decode)
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
        items = [parse(record, self.decode) for record in records]
        try:
            async with self.sessions.begin() as session:
                await self._apply(session, items, isolate=False)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.info("batch failed, applying event by event to isolate the poison", error=repr(exc))
            async with self.sessions.begin() as session:
                await self._apply(session, items, isolate=True)

    async def _apply(self, session: AsyncSession, items: list[Item], *, isolate: bool) -> None:
        fresh_ids = await (self._claim_each(session, items) if isolate else self._claim(session, items))
        todo: list[Item] = []
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
                    await self._dead_letter_safely(session, item, reason(exc))
        if self.after_batch is not None and applied:
            await self.after_batch(session, applied)
        if applied:
            EVENTS.labels(self.config.name, items[0].record.topic, "handled").inc(len(applied))

    async def _dispatch(self, session: AsyncSession, run: list[Item]) -> None:
        envelopes = [item.envelope for item in run if item.envelope is not None]
        batch_handler = self.batch_handlers.get(envelopes[0].type)
        if batch_handler is not None:
            await batch_handler(session, envelopes)
            return
        handler = self.handlers[envelopes[0].type]
        for envelope in envelopes:
            with bound_contextvars(event_id=str(envelope.id), correlation_id=envelope.correlation_id):
                await handler(session, envelope)

    async def _claim(self, session: AsyncSession, items: list[Item]) -> set[uuid.UUID]:
        return await claim(session, inbox=self.inbox, consumer=self.config.name, items=items)

    async def _claim_each(self, session: AsyncSession, items: list[Item]) -> set[uuid.UUID]:
        return await claim_each(session, inbox=self.inbox, consumer=self.config.name, items=items)

    async def _dead_letter_safely(self, session: AsyncSession, item: Item, why: str) -> None:
        await dead_letter_safely(
            session, outbox=self.outbox, inbox=self.inbox, consumer=self.config.name, item=item, reason=why
        )

    def _export_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition, next_offset: int) -> None:
        # Tansu's end_offsets() is wrong; the fetch response's high-water mark is right.
        highwater = consumer.highwater(tp)
        if highwater is not None:
            LAG.labels(self.config.name, tp.topic, str(tp.partition)).set(max(0, highwater - next_offset))


def _runs_of_one_type(items: list[Item]) -> list[list[Item]]:
    """Split into consecutive runs of one event type, so batch handlers keep the order of events."""
    runs: list[list[Item]] = []
    for item in items:
        assert item.envelope is not None
        if runs and runs[-1][0].envelope.type == item.envelope.type:  # type: ignore[union-attr]
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs
