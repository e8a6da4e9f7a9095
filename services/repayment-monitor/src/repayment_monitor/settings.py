"""Configuration of the repayment-monitor service (env prefix `REPAYMENT_MONITOR_`)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from pydantic_settings import SettingsConfigDict

from postloan_common.settings import ServiceSettings


class Settings(ServiceSettings):
    """repayment-monitor settings; shared variables (KAFKA_BOOTSTRAP_SERVERS, POSTLOAN_*) need no prefix."""

    model_config = SettingsConfigDict(env_prefix="REPAYMENT_MONITOR_", extra="ignore")

    service_name: str = "repayment-monitor"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postloan_repayment"
    port: int = 8001
    # None: the API port + 1000; 0: no worker metrics endpoint.
    metrics_port: int | None = None

    # The business date the calendar starts at on a new database (None: today in business_timezone).
    initial_business_date: date | None = None
    business_timezone: str = "Asia/Shanghai"
    # When set, the worker closes the day at this local time (production); unset, close by API only.
    close_of_day_at: time | None = None
    # Larger batches amortise the loan locks and statements of repayment ingest.
    consumer_batch_size: int = 1000
    # How often the worker recomputes the portfolio gauges (repayment_loans, repayment_balance).
    metrics_refresh_s: float = 30.0

    def first_business_date(self) -> date:
        """The business date a fresh calendar starts at."""
        return self.initial_business_date or datetime.now(ZoneInfo(self.business_timezone)).date()
