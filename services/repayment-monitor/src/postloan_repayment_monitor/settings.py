"""Configuration of the repayment-monitor service (env prefix `REPAYMENT_MONITOR_`)."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from postloan_common.settings import ServiceSettings
from postloan_repayment_monitor.domain.business_days import Weekday

WeekdayName = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class Settings(ServiceSettings):
    """repayment-monitor settings; shared variables (KAFKA_BOOTSTRAP_SERVERS, POSTLOAN_*) need no prefix."""

    model_config = SettingsConfigDict(env_prefix="REPAYMENT_MONITOR_", extra="ignore")

    service_name: str = "repayment-monitor"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postloan_repayment"
    port: int = 8001
    # A portfolio file for POST /v1/loans/bulk may be far over the platform's 1 MiB body cap.
    body_caps: dict[str, int] = {"/v1/loans/bulk": 256 * 1024 * 1024}
    # The upload is streamed to a file in this directory (None: the system temporary directory), at
    # most bulk_max_bytes: size the volume for it (k8s mounts one; the pod's /tmp is 64 MiB).
    bulk_spool_dir: str | None = None
    bulk_max_bytes: int = 256 * 1024 * 1024

    # The business date the calendar starts at on a new database (None: today in business_timezone).
    initial_business_date: date | None = None
    business_timezone: str = "Asia/Shanghai"
    # The weekdays that are not business days (holidays and working-day overrides are in the
    # calendar tables): "saturday,sunday" or a JSON list. Due dates of products that shift move off them.
    weekend_days: Annotated[tuple[WeekdayName, ...], NoDecode] = ("saturday", "sunday")
    # When set, the worker closes the day at this local time (production); unset, close by API only.
    close_of_day_at: time | None = None
    # A running bulk job without progress for this long has lost its API process: start-up fails it.
    bulk_stale_after_s: float = 600.0
    # Larger batches amortise the loan locks and statements of repayment ingest.
    consumer_batch_size: int = 1000
    # How often the worker recomputes the portfolio gauges (repayment_loans, repayment_balance).
    metrics_refresh_s: float = 30.0

    @field_validator("weekend_days", mode="before")
    @classmethod
    def _weekday_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return tuple(part.strip().lower() for part in text.split(",") if part.strip())
        return value

    @field_validator("weekend_days")
    @classmethod
    def _not_every_day(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) >= len(Weekday):
            raise ValueError("at least one weekday must be a business day")
        return value

    def weekend(self) -> frozenset[int]:
        """The weekend days as ISO weekday numbers."""
        return frozenset(Weekday[name.upper()] for name in self.weekend_days)

    def first_business_date(self) -> date:
        """The business date a fresh calendar starts at."""
        return self.initial_business_date or datetime.now(ZoneInfo(self.business_timezone)).date()
