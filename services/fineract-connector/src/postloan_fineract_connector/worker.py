"""The fineract-connector worker: `python -m postloan_fineract_connector.worker`."""

from __future__ import annotations

import asyncio

from postloan_common.catalog import dead_letter_topic
from postloan_common.messaging.admin import ensure_topics
from postloan_common.worker import run_worker
from postloan_fineract_connector.consumers import batch_handlers, decoder
from postloan_fineract_connector.settings import Settings
from postloan_fineract_connector.store.tables import inbox, outbox


async def ensure_fineract_topics(settings: Settings) -> None:
    """Create the Fineract topic and its dead-letter topic if missing (Fineract creates neither)."""
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        [settings.topic, dead_letter_topic(settings.topic)],
        partitions=settings.kafka_topic_partitions,
        replication_factor=settings.kafka_replication_factor,
    )


def main() -> None:
    """Consume Fineract's external events and relay the core-banking events until stopped."""
    settings = Settings()
    asyncio.run(ensure_fineract_topics(settings))
    options = settings.mapping_options()
    run_worker(
        settings=settings,
        tables=(outbox, inbox),
        batch_handlers=batch_handlers(options),
        topics=(settings.topic,),
        metrics_port=settings.metrics_port,
        decode=decoder(options),
    )


if __name__ == "__main__":
    main()
