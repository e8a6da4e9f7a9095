"""The repayment-monitor worker: `python -m postloan_repayment_monitor.worker`."""

from __future__ import annotations

from postloan_common.catalog import CONSUMES
from postloan_common.worker import WorkerTask, run_worker
from postloan_repayment_monitor.consumers import LoanEventHandlers
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service.metrics import portfolio_refresher
from postloan_repayment_monitor.service.scheduler import close_of_day_task
from postloan_repayment_monitor.settings import Settings
from postloan_repayment_monitor.store.tables import inbox, outbox

SERVICE = "repayment-monitor"


def extra_tasks(*, settings: Settings, buckets: BucketScheme) -> list[WorkerTask]:
    """The periodic jobs: portfolio metrics always, the close-of-day scheduler when a time is set."""
    tasks: list[WorkerTask] = [portfolio_refresher(buckets=buckets, interval_s=settings.metrics_refresh_s)]
    if settings.close_of_day_at is not None:
        tasks.append(close_of_day_task(settings=settings, buckets=buckets))
    return tasks


def main() -> None:
    """Run the outbox relay, the `core-banking.loans` consumer and the periodic jobs until stopped."""
    settings = Settings()
    buckets = BucketScheme()
    loan_events = LoanEventHandlers(settings=settings, buckets=buckets)
    run_worker(
        settings=settings,
        tables=(outbox, inbox),
        handlers=loan_events.handlers(),
        batch_handlers=loan_events.batch_handlers(),
        topics=CONSUMES[SERVICE],
        extra_tasks=extra_tasks(settings=settings, buckets=buckets),
        metrics_port=settings.metrics_port,
    )


if __name__ == "__main__":
    main()
