"""aiokafka client construction in one place, so every producer and consumer is configured alike."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.helpers import create_ssl_context

from postloan_common.settings import KafkaSecurityProtocol, KafkaSecuritySettings

_TLS = (KafkaSecurityProtocol.SSL, KafkaSecurityProtocol.SASL_SSL)
_SASL = (KafkaSecurityProtocol.SASL_PLAINTEXT, KafkaSecurityProtocol.SASL_SSL)


def security_kwargs(settings: KafkaSecuritySettings | None = None) -> dict[str, Any]:
    """Return the aiokafka authentication kwargs (read from KAFKA_* when not given); none for PLAINTEXT."""
    settings = settings if settings is not None else KafkaSecuritySettings()
    protocol = settings.security_protocol
    if protocol is KafkaSecurityProtocol.PLAINTEXT:
        return {}
    kwargs: dict[str, Any] = {"security_protocol": protocol.value}
    if protocol in _TLS:
        kwargs["ssl_context"] = create_ssl_context(
            cafile=settings.ssl_cafile, certfile=settings.ssl_certfile, keyfile=settings.ssl_keyfile
        )
    if protocol in _SASL:
        password = settings.sasl_password.get_secret_value() if settings.sasl_password else None
        kwargs["sasl_mechanism"] = settings.sasl_mechanism
        kwargs["sasl_plain_username"] = settings.sasl_username
        kwargs["sasl_plain_password"] = password
    return kwargs


def make_producer(
    bootstrap_servers: str,
    *,
    idempotent: bool = False,
    linger_ms: int = 5,
    client_id: str = "postloan",
    security: KafkaSecuritySettings | None = None,
) -> AIOKafkaProducer:
    """Return an unstarted producer with acks=all (idempotence only where the broker supports it)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=idempotent,
        linger_ms=linger_ms,
        max_batch_size=256 * 1024,
        compression_type="lz4",
        request_timeout_ms=15_000,
        retry_backoff_ms=200,
        **security_kwargs(security),
    )


def make_consumer(
    *topics: str,
    bootstrap_servers: str,
    group_id: str | None,
    session_timeout_ms: int = 10_000,
    max_poll_records: int = 500,
    client_id: str = "postloan",
    fetch_max_wait_ms: int = 100,
    security: KafkaSecuritySettings | None = None,
) -> AIOKafkaConsumer:
    """Return an unstarted consumer with manual commits that starts from the earliest offset (no group: assign only)."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=max(1000, session_timeout_ms // 3),
        max_poll_records=max_poll_records,
        # Tansu answers a fetch only when this wait runs out, not when records arrive (aiokafka's
        # 500 ms default cost ~250 ms per consumer hop); Kafka answers at once either way, and an
        # idle consumer asking ten times a second is no load.
        fetch_max_wait_ms=fetch_max_wait_ms,
        isolation_level="read_uncommitted",
        **security_kwargs(security),
    )
