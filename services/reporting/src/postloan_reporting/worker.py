"""The reporting worker: `python -m postloan_reporting.worker`."""

from __future__ import annotations

from postloan_common.catalog import CONSUMES
from postloan_common.worker import run_worker
from postloan_reporting.settings import Settings
from postloan_reporting.store.tables import inbox, outbox

SERVICE = "reporting"


def main() -> None:
    """Run the outbox relay (and, once it has handlers, the consumer) until stopped."""
    settings = Settings()
    run_worker(
        settings=settings,
        tables=(outbox, inbox),
        topics=CONSUMES[SERVICE],
        metrics_port=settings.metrics_port,
    )


if __name__ == "__main__":
    main()
