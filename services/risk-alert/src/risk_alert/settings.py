"""Configuration of the risk-alert service (env prefix `RISK_ALERT_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from postloan_common.settings import ServiceSettings


class Settings(ServiceSettings):
    """risk-alert settings; shared variables (KAFKA_BOOTSTRAP_SERVERS, POSTLOAN_*) need no prefix."""

    model_config = SettingsConfigDict(env_prefix="RISK_ALERT_", extra="ignore")

    service_name: str = "risk-alert"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postloan_risk"
    port: int = 8002
    # None: the API port + 1000; 0: no worker metrics endpoint.
    metrics_port: int | None = None
