"""Business gauges for Grafana, from the latest snapshot (labels bounded: bucket names only)."""

from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.domain.kpis import portfolio
from postloan_reporting.service import snapshots
from postloan_reporting.store import snapshots as store

OVERDUE_RATE = Gauge("reporting_overdue_rate", "Overdue balance / gross balance at the latest closed day")
PAR30 = Gauge("reporting_par30", "Balance with DPD > 30 / gross balance at the latest closed day")
NPL_RATIO = Gauge("reporting_npl_ratio", "(substandard + doubtful + loss) / gross balance at the latest closed day")
BALANCE = Gauge("reporting_balance", "Outstanding principal by delinquency bucket at the latest closed day", ["bucket"])
OPEN_ALERTS = Gauge("reporting_open_alerts", "Risk alerts open now")
REMINDERS = Gauge("reporting_reminders_sent", "Reminders sent, all time")


async def refresh(session: AsyncSession) -> None:
    """Set every gauge from the analytics store."""
    day = await snapshots.latest_closed_day(session)
    if day is not None:
        report = portfolio(await snapshots.aggregate_rows(session, day=day))
        OVERDUE_RATE.set(float(report.kpis.overdue_rate or 0))
        PAR30.set(float(report.kpis.par30 or 0))
        NPL_RATIO.set(float(report.kpis.npl_ratio or 0))
        for bucket in report.by_bucket:
            BALANCE.labels(bucket.key).set(float(bucket.balance))
    OPEN_ALERTS.set(await store.open_alerts(session))
    REMINDERS.set(await store.reminders_sent(session))
