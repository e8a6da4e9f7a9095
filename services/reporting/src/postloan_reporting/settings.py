"""Configuration of the reporting service (env prefix `REPORTING_`)."""

from __future__ import annotations

from decimal import Decimal

from pydantic_settings import SettingsConfigDict

from postloan_common.settings import ServiceSettings, SmtpSettings


class Settings(ServiceSettings, SmtpSettings):
    """reporting settings; shared variables (KAFKA_BOOTSTRAP_SERVERS, POSTLOAN_*) need no prefix."""

    model_config = SettingsConfigDict(env_prefix="REPORTING_", extra="ignore")

    service_name: str = "reporting"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postloan_reporting"
    port: int = 8004
    # The built reference console (web/dist), served at /console when the directory exists.
    console_dir: str = "web/dist"
    # Scheduled management reports go out by e-mail (SmtpSettings) from this address.
    smtp_from: str = "reports@postloan.local"
    # How often the worker looks for closed months to report.
    schedule_every_s: float = 60.0
    # The effectiveness report's costs (CNY): one attempt or message per channel, and an hour of a
    # collector's time; the minutes a collector spends on one attempt per channel give the hours.
    contact_unit_cost: dict[str, Decimal] = {
        "sms": Decimal("0.05"),
        "email": Decimal("0.01"),
        "app_push": Decimal("0.00"),
        "wechat": Decimal("0.02"),
        "letter": Decimal("2.00"),
        "phone": Decimal("0.30"),
        "field_visit": Decimal("40.00"),
    }
    contact_handle_minutes: dict[str, Decimal] = {
        "phone": Decimal("5"),
        "wechat": Decimal("3"),
        "sms": Decimal("1"),
        "email": Decimal("2"),
        "field_visit": Decimal("90"),
    }
    collector_hour_cost: Decimal = Decimal("60.00")
