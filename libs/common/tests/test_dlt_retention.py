"""Dead-letter topics are created with their own long retention; other topics keep the broker default."""

from __future__ import annotations

from postloan_common.messaging.admin import DEFAULT_DLT_RETENTION_MS, new_topic


def test_dlt_topic_carries_retention() -> None:
    topic = new_topic("crm.activities.dlt", partitions=3, replication_factor=1, dlt_retention_ms=123_000)
    assert topic.topic_configs == {"retention.ms": "123000"}


def test_default_dlt_retention_is_thirty_days() -> None:
    assert DEFAULT_DLT_RETENTION_MS == 30 * 24 * 3600 * 1000


def test_ordinary_topic_keeps_broker_default() -> None:
    topic = new_topic("crm.activities", partitions=3, replication_factor=1, dlt_retention_ms=123_000)
    assert topic.topic_configs == {}


async def test_broker_accepts_dlt_topic_with_retention(devstack, unique_topic) -> None:
    from postloan_common.messaging.admin import ensure_topics

    name = unique_topic("demo.retention") + ".dlt"
    created = await ensure_topics(devstack.kafka_bootstrap, [name], partitions=1)
    assert created == [name]
