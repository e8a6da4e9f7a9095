"""Configuration of the fineract-connector service (env prefix `FINERACT_CONNECTOR_`)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from postloan_common.catalog import FINERACT_EXTERNAL_EVENTS
from postloan_common.settings import ServiceSettings
from postloan_fineract_connector.domain.mapping import DEFAULT_REPAYMENTS, MappingOptions


class Settings(ServiceSettings):
    """fineract-connector settings; shared variables (KAFKA_BOOTSTRAP_SERVERS, POSTLOAN_*) need no prefix."""

    model_config = SettingsConfigDict(env_prefix="FINERACT_CONNECTOR_", extra="ignore")

    service_name: str = "fineract-connector"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postloan_fineract"
    port: int = 8005

    # Fineract's `fineract.events.external.producer.kafka.topic.name`; FINERACT_TOPIC works too.
    topic: str = Field(
        FINERACT_EXTERNAL_EVENTS, validation_alias=AliasChoices("FINERACT_CONNECTOR_TOPIC", "FINERACT_TOPIC")
    )
    # Fineract event types counted as repayments (money in); a bank narrows or widens the set.
    repayment_events: frozenset[str] = DEFAULT_REPAYMENTS
    # Fineract clients carry neither: every customer gets the bank's.
    customer_timezone: str = "Asia/Shanghai"
    customer_language: str = "zh-CN"
    default_channel: str = "fineract"

    def mapping_options(self) -> MappingOptions:
        """The mapping as this bank configured it."""
        return MappingOptions(
            repayment_events=self.repayment_events,
            timezone=self.customer_timezone,
            language=self.customer_language,
            channel=self.default_channel,
        )
