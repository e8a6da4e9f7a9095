"""The risk-alert worker: `python -m postloan_risk_alert.worker`."""

from __future__ import annotations

from postloan_common.catalog import CONSUMES
from postloan_common.worker import run_worker
from postloan_risk_alert.consumers import DAY_BARRIER, make_handlers
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store.tables import inbox, outbox

SERVICE = "risk-alert"


def main() -> None:
    """Run the outbox relay and the consumer of repayment.loans and crm.activities until stopped."""
    settings = Settings()
    run_worker(
        settings=settings,
        tables=(outbox, inbox),
        batch_handlers=make_handlers(settings),
        topics=CONSUMES[SERVICE],
        metrics_port=settings.metrics_port,
        barrier=DAY_BARRIER,
    )


if __name__ == "__main__":
    main()
