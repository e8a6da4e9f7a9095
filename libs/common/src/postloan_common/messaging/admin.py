"""Explicit topic creation: Tansu loses records produced to a topic that does not exist yet."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from postloan_common.logging import get_logger
from postloan_common.messaging.kafka import security_kwargs

log = get_logger(__name__)

# Dead letters wait for a person; the broker's default retention (often 7 days) can drop them first.
DEFAULT_DLT_RETENTION_MS = 30 * 24 * 3600 * 1000


def new_topic(name: str, *, partitions: int, replication_factor: int, dlt_retention_ms: int) -> NewTopic:
    """The creation request for `name`: a `.dlt` topic carries its long retention."""
    configs = {"retention.ms": str(dlt_retention_ms)} if name.endswith(".dlt") else {}
    return NewTopic(name=name, num_partitions=partitions, replication_factor=replication_factor, topic_configs=configs)


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    partitions: int,
    replication_factor: int = 1,
    timeout_s: float = 30.0,
    dlt_retention_ms: int = DEFAULT_DLT_RETENTION_MS,
) -> list[str]:
    """Create the topics that do not exist yet; return the ones created."""
    wanted = list(dict.fromkeys(topics))
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout_s * 1000), **security_kwargs()
    )
    await asyncio.wait_for(admin.start(), timeout_s)
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        created: list[str] = []
        for topic in missing:
            try:
                await admin.create_topics(
                    [
                        new_topic(
                            topic,
                            partitions=partitions,
                            replication_factor=replication_factor,
                            dlt_retention_ms=dlt_retention_ms,
                        )
                    ]
                )
                created.append(topic)
            except TopicAlreadyExistsError:
                continue
        if created:
            log.info("topics created", topics=created, partitions=partitions)
        return created
    finally:
        await admin.close()
