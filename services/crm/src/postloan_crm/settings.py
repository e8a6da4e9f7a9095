"""Configuration of the crm service (env prefix `CRM_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from postloan_common.settings import ServiceSettings


class Settings(ServiceSettings):
    """crm settings; shared variables (KAFKA_BOOTSTRAP_SERVERS, POSTLOAN_*) need no prefix."""

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    service_name: str = "crm"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postloan_crm"
    port: int = 8003
    # None: the API port + 1000; 0: no worker metrics endpoint.
    metrics_port: int | None = None
