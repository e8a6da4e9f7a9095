"""`postloan dlt list|replay TOPIC`: read a dead-letter topic, send its events to their topic again."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy import MetaData, delete, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from postloan_common.audit import audit_log_table, record_audit
from postloan_common.catalog import SERVICES, dead_letter_topic
from postloan_common.logging import get_logger
from postloan_common.messaging import deadletter
from postloan_common.messaging.envelope import Envelope
from postloan_common.messaging.kafka import make_consumer, make_producer
from postloan_common.messaging.records import MALFORMED_NAMESPACE
from postloan_common.messaging.tables import inbox_table
from postloan_common.ops.migrate import DEFAULT_SERVER_URL, database_url, normalise_postgres_url
from postloan_common.settings import ServiceSettings

log = get_logger(__name__)

_metadata = MetaData()
_inbox = inbox_table(_metadata)
_audit = audit_log_table(_metadata)
DEAD_LETTERED = "dead-lettered:%"
REPLAY_ACTION = "dlt.replay"

# The database URL (postgresql+asyncpg) of the service whose consumer group is the given name.
UrlFor = Callable[[str], str | None]


@dataclass(frozen=True)
class DeadLetter:
    """One record of a `.dlt` topic, with where it came from and why it was refused."""

    record: ConsumerRecord

    def header(self, name: str) -> str | None:
        """The value of header `name`, if the record carries it."""
        for key, value in self.record.headers or ():
            if key == name:
                return (value or b"").decode(errors="replace")
        return None

    @property
    def event_id(self) -> uuid.UUID | None:
        """The id the consumer's inbox knows the event by (the envelope id when it is readable)."""
        try:
            return Envelope.from_bytes(self.record.value).id
        except Exception:
            return None

    def inbox_ids(self) -> list[uuid.UUID]:
        """Every id the consumer may have claimed the event under: its own, or its original coordinates."""
        coordinates = [self.header(h) for h in (deadletter.ORIGINAL_TOPIC, deadletter.ORIGINAL_PARTITION)]
        locator = uuid.uuid5(MALFORMED_NAMESPACE, f"{coordinates[0]}:{coordinates[1]}:{self.original_offset}")
        return [i for i in (self.event_id, locator) if i is not None]

    @property
    def original_offset(self) -> str | None:
        """The offset the event had on its original topic."""
        return self.header(deadletter.ORIGINAL_OFFSET)

    def summary(self) -> dict[str, object]:
        """What `dlt list` prints: coordinates, ids and the reason, never the payload (it may hold PII)."""
        return {
            "partition": self.record.partition,
            "offset": self.record.offset,
            "event_id": str(self.event_id) if self.event_id else None,
            "consumer": self.header(deadletter.CONSUMER),
            "original_topic": self.header(deadletter.ORIGINAL_TOPIC),
            "original_partition": self.header(deadletter.ORIGINAL_PARTITION),
            "original_offset": self.original_offset,
            "reason": self.header(deadletter.REASON),
        }

    def replay_headers(self) -> list[tuple[str, bytes]]:
        """The original headers: every header except those the dead-lettering added."""
        return [(k, v) for k, v in self.record.headers or () if not k.startswith("dlt-")]


def dlt_name(topic: str) -> str:
    """Accept a topic or its dead-letter topic; return the dead-letter topic."""
    return topic if topic.endswith(".dlt") else dead_letter_topic(topic)


async def read_dead_letters(bootstrap_servers: str, topic: str, *, idle_ms: int = 1500) -> list[DeadLetter]:
    """Every record on the dead-letter topic of `topic`, in partition and offset order."""
    consumer = make_consumer(bootstrap_servers=bootstrap_servers, group_id=None, client_id="postloan-dlt")
    await consumer.start()
    try:
        records = await _read_all(consumer, dlt_name(topic), idle_ms=idle_ms)
    finally:
        await consumer.stop()
    return [DeadLetter(r) for r in sorted(records, key=lambda r: (r.partition, r.offset))]


async def assign_from_start(consumer: AIOKafkaConsumer, topic: str) -> None:
    """Assign every partition of `topic` to the started `consumer`, positioned at its first record."""
    partitions = consumer.partitions_for_topic(topic) or set()
    if not partitions:
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic) or set()
    consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
    await consumer.seek_to_beginning()


async def _read_all(consumer: AIOKafkaConsumer, topic: str, *, idle_ms: int) -> list[ConsumerRecord]:
    await assign_from_start(consumer, topic)
    records: list[ConsumerRecord] = []
    # Tansu's end_offsets() is wrong, so read until the topic stays quiet.
    while batch := await consumer.getmany(timeout_ms=idle_ms):
        for chunk in batch.values():
            records.extend(chunk)
    return records


@dataclass(frozen=True)
class Replayed:
    """The outcome of replaying one dead letter."""

    offset: int
    event_id: str | None
    replayed: bool
    detail: str


async def replay(
    bootstrap_servers: str, topic: str, *, url_for: UrlFor, actor: str, event_id: uuid.UUID | None = None
) -> list[Replayed]:
    """Replay the dead letters of `topic` (all, or those of `event_id`); each is sent again at most once."""
    letters = [d for d in await read_dead_letters(bootstrap_servers, topic) if event_id in (None, d.event_id)]
    producer = make_producer(bootstrap_servers, client_id="postloan-dlt-replay")
    await producer.start()
    engines: dict[str, async_sessionmaker[AsyncSession]] = {}
    try:
        return [
            await _replay_one(letter, producer=producer, sessions=engines, url_for=url_for, actor=actor)
            for letter in letters
        ]
    finally:
        await producer.stop()
        for maker in engines.values():
            await maker.kw["bind"].dispose()


async def _replay_one(
    letter: DeadLetter,
    *,
    producer: AIOKafkaProducer,
    sessions: dict[str, async_sessionmaker[AsyncSession]],
    url_for: UrlFor,
    actor: str,
) -> Replayed:
    consumer, original = letter.header(deadletter.CONSUMER), letter.header(deadletter.ORIGINAL_TOPIC)
    event = str(letter.event_id) if letter.event_id else None
    url = url_for(consumer) if consumer else None
    if consumer is None or original is None or url is None:
        return Replayed(letter.record.offset, event, False, "no known consumer or original topic in its headers")
    if consumer not in sessions:
        sessions[consumer] = async_sessionmaker(create_async_engine(url), expire_on_commit=False)
    async with sessions[consumer].begin() as session:
        if not await _release_inbox(session, consumer=consumer, ids=letter.inbox_ids()):
            return Replayed(letter.record.offset, event, False, f"not dead-lettered in {consumer}'s inbox (applied?)")
        await _audit_replay(session, letter, actor=actor, consumer=consumer, original=original)
        # Sent inside the transaction: if the send fails the inbox row stays and the replay can be run again.
        await producer.send_and_wait(
            original, value=letter.record.value, key=letter.record.key, headers=letter.replay_headers()
        )
    return Replayed(letter.record.offset, event, True, f"sent to {original} for {consumer}")


async def _release_inbox(session: AsyncSession, *, consumer: str, ids: list[uuid.UUID]) -> bool:
    """Delete the consumer's dead-lettered inbox row of the event, so the inbox lets it in once more."""
    stmt = (
        delete(_inbox)
        .where(_inbox.c.consumer == consumer, _inbox.c.event_id.in_(ids), _inbox.c.event_type.like(DEAD_LETTERED))
        .returning(_inbox.c.event_id)
    )
    return bool((await session.execute(stmt)).all())


async def _audit_replay(session: AsyncSession, letter: DeadLetter, *, actor: str, consumer: str, original: str) -> None:
    details = {**letter.summary(), "dlt_topic": letter.record.topic}
    subject = f"{original}/{details['event_id'] or letter.original_offset}"
    if (await session.execute(text("SELECT to_regclass('audit_log') IS NOT NULL"))).scalar():
        await record_audit(session, _audit, actor=actor, action=REPLAY_ACTION, subject=subject[:200], details=details)
    else:  # reporting keeps no audit_log yet; the structured log is the record there
        log.warning("dead letter replayed", actor=actor, consumer=consumer, **details)


# --- command line ----------------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `dlt list TOPIC` and `dlt replay TOPIC --id ID | --all` to the command line."""
    dlt = commands.add_parser("dlt", help="inspect and re-drive dead-letter topics")
    actions = dlt.add_subparsers(dest="dlt_action", required=True)
    listing = actions.add_parser("list", help="print the dead letters of TOPIC (its .dlt topic), one JSON line each")
    listing.add_argument("topic", help="a topic or its .dlt topic")
    listing.set_defaults(command=cmd_list)
    again = actions.add_parser("replay", help="send dead letters to their original topic again, once each")
    again.add_argument("topic", help="a topic or its .dlt topic")
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=uuid.UUID, help="the event id (from `dlt list`)")
    which.add_argument("--all", action="store_true", help="every dead letter of the topic")
    again.set_defaults(command=cmd_replay)


def service_url(consumer: str) -> str | None:
    """The database URL of the service whose consumer group is `consumer`, resolved as `migrate` does."""
    spec = next((s for s in SERVICES if s.name == consumer), None)
    if spec is None:
        return None
    server = normalise_postgres_url(os.environ.get("POSTGRES_URL") or DEFAULT_SERVER_URL)
    return database_url(spec, server_url=server, environ=os.environ)


def cmd_list(args: argparse.Namespace) -> int:
    """Print one JSON line per dead letter."""
    for letter in asyncio.run(read_dead_letters(ServiceSettings().kafka_bootstrap_servers, args.topic)):
        print(json.dumps(letter.summary()))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay one or every dead letter; non-zero if `--id` named one that was not replayed."""
    outcomes = asyncio.run(
        replay(
            ServiceSettings().kafka_bootstrap_servers,
            args.topic,
            url_for=service_url,
            actor=f"operator:{getpass.getuser()}",
            event_id=args.id,
        )
    )
    for outcome in outcomes:
        print(json.dumps(outcome.__dict__))
    if args.id is not None and not any(o.replayed for o in outcomes):
        print(f"event {args.id} was not replayed", file=sys.stderr)
        return 1
    return 0
