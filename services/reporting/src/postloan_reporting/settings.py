"""Configuration of the reporting service (env prefix `REPORTING_`)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from postloan_common.settings import ServiceSettings


class Settings(ServiceSettings):
    """reporting settings; shared variables (KAFKA_BOOTSTRAP_SERVERS, POSTLOAN_*) need no prefix."""

    model_config = SettingsConfigDict(env_prefix="REPORTING_", extra="ignore")

    service_name: str = "reporting"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postloan_reporting"
    port: int = 8004
    # The built reference console (web/dist), served at /console when the directory exists.
    console_dir: str = "web/dist"
    # Scheduled management reports go out by e-mail over SMTP (in development a local test server).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_from: str = "reports@postloan.local"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_start_tls: bool = False
    smtp_timeout_s: float = 10.0
    # How often the worker looks for closed months to report.
    schedule_every_s: float = 60.0
