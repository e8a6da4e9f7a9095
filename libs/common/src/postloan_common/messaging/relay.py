"""The outbox relay: publishes pending rows in id order, marks them, prunes old ones."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
from prometheus_client import Counter, Gauge

from postloan_common.logging import get_logger
from postloan_common.messaging.kafka import make_producer
from postloan_common.messaging.tables import OUTBOX_CHANNEL

log = get_logger(__name__)

PUBLISHED = Counter("outbox_published_total", "Outbox events published", ["service"])
PUBLISH_FAILURES = Counter("outbox_publish_failures_total", "Failed outbox publish passes", ["service"])
OLDEST_PENDING_AGE = Gauge("outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox row", ["service"])
PENDING = Gauge("outbox_pending", "Unpublished outbox rows", ["service"])
PARKED_TOTAL = Counter("outbox_parked_total", "Outbox rows parked after a permanent broker rejection", ["service"])
# prometheus_client reserves `outbox_parked` for the counter above, hence `_rows`.
PARKED = Gauge("outbox_parked_rows", "Outbox rows parked, waiting for an operator", ["service"])
INBOX_PRUNED = Counter("inbox_pruned_total", "Inbox rows deleted once their topic can no longer redeliver", ["service"])
PRUNED = Counter("outbox_pruned_total", "Published outbox rows deleted after retention", ["service"])

# One relay per service database publishes; the others wait on this lock.
RELAY_LOCK_KEY = 0x706F73746C6F616E  # "postloan"

_SELECT_PENDING = """
    SELECT id, topic, key, partition, payload, headers
    FROM outbox WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT $1
"""
_MARK = "UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1::bigint[])"
_RECORD_FAILURE = """
    UPDATE outbox SET attempts = attempts + 1, last_error = $2
    WHERE id = (SELECT min(id) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL) AND $1
"""
_PARK = """
    UPDATE outbox SET parked_at = now(), parked_reason = $2, attempts = attempts + 1, last_error = $2
    WHERE id = $1
"""
_STATS = """
    SELECT count(*) FILTER (WHERE parked_at IS NULL) AS pending,
           count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,
           extract(epoch FROM now() - min(created_at) FILTER (WHERE parked_at IS NULL)) AS age
    FROM outbox WHERE published_at IS NULL
"""

# The broker will refuse these the same way on every retry; retrying would hold back every later row.
PERMANENT_PRODUCE_ERRORS: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
    InvalidTopicError,
    UnknownTopicOrPartitionError,
    TopicAuthorizationFailedError,
    TypeError,
    ValueError,
    UnicodeError,
)
_PRUNE = """
    DELETE FROM outbox WHERE id IN (
        SELECT id FROM outbox WHERE published_at < now() - make_interval(secs => $1) LIMIT 10000)
"""

# An inbox row guards against redelivery; once the topic's retention has dropped the record it cannot come back.
_PRUNE_INBOX = """
    DELETE FROM inbox WHERE ctid IN (
        SELECT ctid FROM inbox WHERE received_at < now() - make_interval(secs => $1) LIMIT 5000)
"""


@dataclass
class RelayConfig:
    service: str
    dsn: str
    bootstrap_servers: str
    batch_size: int = 1000
    poll_interval_s: float = 1.0
    retention_s: float = 72 * 3600.0
    prune_every_s: float = 300.0
    # Topic retention (broker default 7 days) plus a margin for consumers restarting at old offsets.
    inbox_retention_s: float = 8 * 24 * 3600.0
    idempotent: bool = False
    max_backoff_s: float = 5.0


class OutboxRelay:
    """Publish a service's outbox to Kafka; run() until `stop` is set."""

    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        # Not 0.0: the monotonic clock starts near boot, so a young machine would skip its first prune.
        self._last_prune = -math.inf
        self._last_stats = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Hold the relay lock, then publish until stopped, reconnecting after failures."""
        backoff = 0.2
        while not stop.is_set():
            try:
                await self._run_as_leader(stop)
                backoff = 0.2
            except Exception as exc:
                # A dropped or half-broken connection surfaces as many asyncpg exception types
                # (InterfaceError, InternalClientError, OSError…); the relay must outlive them all.
                log.warning("outbox relay database error, retrying", error=repr(exc), backoff_s=backoff)
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, self.config.max_backoff_s)
        await self._close_producer()

    async def _run_as_leader(self, stop: asyncio.Event) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self.config.dsn, timeout=10)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY):
                if await _sleep_or_stop(stop, self.config.poll_interval_s * 5):
                    return
            await conn.add_listener(OUTBOX_CHANNEL, self._on_notify)
            log.info("outbox relay started", service=self.config.service)
            while not stop.is_set():
                published = await self._pass_with_retry(conn, stop)
                await self._maybe_prune(conn)
                if published < self.config.batch_size:
                    await self._wait_for_work(stop)
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    async def _pass_with_retry(self, conn: asyncpg.Connection, stop: asyncio.Event) -> int:
        backoff = 0.2
        while not stop.is_set():
            try:
                return await self.publish_pending(conn)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError):
                raise
            except Exception as exc:  # broker errors of every kind: keep rows pending, retry
                PUBLISH_FAILURES.labels(self.config.service).inc()
                log.warning("outbox publish failed, will retry", error=repr(exc), backoff_s=backoff)
                with contextlib.suppress(Exception):
                    await conn.execute(_RECORD_FAILURE, True, repr(exc)[:2000])
                await self._close_producer()
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, self.config.max_backoff_s)
        return 0

    async def publish_pending(self, conn: asyncpg.Connection) -> int:
        """Publish one batch of pending rows in id order and mark them; return how many."""
        rows = await conn.fetch(_SELECT_PENDING, self.config.batch_size)
        await self._export_stats(conn)
        if not rows:
            return 0
        producer = await self._producer_started()
        sent: list[tuple[int, Any]] = []
        for row in rows:
            try:
                sent.append((row["id"], await producer.send(**_record(row))))
            except PERMANENT_PRODUCE_ERRORS as exc:
                await self._park(conn, row["id"], exc)
        results = await asyncio.gather(*(future for _id, future in sent), return_exceptions=True)
        published = _in_key_order(rows, sent, results)
        await conn.execute(_MARK, published)
        PUBLISHED.labels(self.config.service).inc(len(published))
        for (row_id, _f), result in zip(sent, results, strict=True):
            if isinstance(result, PERMANENT_PRODUCE_ERRORS):
                await self._park(conn, row_id, result)
            elif isinstance(result, BaseException):
                raise result  # transient: the rows left pending go again on the next pass
        return len(rows)

    async def _park(self, conn: asyncpg.Connection, row_id: int, exc: BaseException) -> None:
        """Set the row aside with the broker's reason so the rows after it can go."""
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        await conn.execute(_PARK, row_id, reason)
        PARKED_TOTAL.labels(self.config.service).inc()
        log.error("outbox row parked", service=self.config.service, outbox_id=row_id, reason=reason)

    async def _export_stats(self, conn: asyncpg.Connection) -> None:
        # Counting the pending rows scans them; on a large backlog, once per pass would cost more than the pass.
        now = time.monotonic()
        if now - self._last_stats < self.config.poll_interval_s:
            return
        self._last_stats = now
        stats = await conn.fetchrow(_STATS)
        PENDING.labels(self.config.service).set(stats["pending"])
        PARKED.labels(self.config.service).set(stats["parked"])
        OLDEST_PENDING_AGE.labels(self.config.service).set(float(stats["age"] or 0.0))

    async def _maybe_prune(self, conn: asyncpg.Connection) -> None:
        now = time.monotonic()
        if now - self._last_prune < self.config.prune_every_s:
            return
        self._last_prune = now
        await _delete_in_batches(conn, _PRUNE, self.config.retention_s, 10000, PRUNED.labels(self.config.service))
        await _delete_in_batches(
            conn, _PRUNE_INBOX, self.config.inbox_retention_s, 5000, INBOX_PRUNED.labels(self.config.service)
        )

    async def _producer_started(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(
                self.config.bootstrap_servers,
                idempotent=self.config.idempotent,
                client_id=f"{self.config.service}-relay",
            )
            try:
                await asyncio.wait_for(producer.start(), 15)
            except BaseException:
                with contextlib.suppress(Exception):
                    await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 5)

    async def _wait_for_work(self, stop: asyncio.Event) -> None:
        self._wake.clear()
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
        _done, pending = await asyncio.wait(
            waiters, timeout=self.config.poll_interval_s, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()

    def _on_notify(self, *_args: Any) -> None:
        self._wake.set()


async def _delete_in_batches(conn: asyncpg.Connection, sql: str, age_s: float, batch: int, counter: Any) -> None:
    """Run a batched DELETE until a batch comes back short, so no single statement holds locks for long."""
    while True:
        deleted = int((await conn.execute(sql, age_s)).split()[-1])
        counter.inc(deleted)
        if deleted < batch:
            return


def _record(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "topic": row["topic"],
        "value": row["payload"],
        "key": row["key"].encode(),
        "partition": row["partition"],
        "headers": _headers(row["headers"]),
    }


def _in_key_order(rows: list[asyncpg.Record], sent: list[tuple[int, Any]], results: list[Any]) -> list[int]:
    """Ids safe to mark published: acknowledged, and no earlier row of the same topic and key left pending.

    A later row of a key may be acknowledged after an earlier one failed; marking it would let the retry
    publish the earlier row after it for good. Left pending, both go again in id order (the inbox drops
    the repeat). Parked rows do not hold their key back: they are set aside on purpose.
    """
    keys = {row["id"]: (row["topic"], row["key"]) for row in rows}
    held: set[tuple[str, str]] = set()
    published: list[int] = []
    for (row_id, _future), result in zip(sent, results, strict=True):
        if isinstance(result, PERMANENT_PRODUCE_ERRORS):
            continue
        if _failed(result) or keys[row_id] in held:
            held.add(keys[row_id])
            continue
        published.append(row_id)
    return published


def _failed(result: object) -> bool:
    return isinstance(result, BaseException)


def _headers(raw: Any) -> list[tuple[str, bytes]]:
    values = json.loads(raw) if isinstance(raw, str) else (raw or {})
    return [(k, str(v).encode()) for k, v in values.items()]


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; return True if `stop` was set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
