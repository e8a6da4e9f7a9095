"""Configuration of the crm service (env prefix `CRM_`)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from postloan_common.contracts.crm import CollectionQueue
from postloan_common.settings import ServiceSettings, SmtpSettings
from postloan_crm.domain.strategy import StrategyTable


class Settings(ServiceSettings, SmtpSettings):
    """crm settings; shared variables (KAFKA_BOOTSTRAP_SERVERS, POSTLOAN_*) need no prefix."""

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore")

    service_name: str = "crm"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postloan_crm"
    port: int = 8003

    # E-mail over SMTP (postloan_common.settings.SmtpSettings); reminders are sent from this address.
    smtp_from: str = "reminders@postloan.local"

    # SMS and push go through an HTTP provider webhook; in development a local test server.
    sms_webhook_url: str = "http://127.0.0.1:8093/sms"
    push_webhook_url: str = "http://127.0.0.1:8093/push"
    # Dunning letters go to a print-and-mail provider's webhook, like SMS.
    letter_webhook_url: str = "http://127.0.0.1:8093/letter"
    # Click-to-call: the CTI provider's webhook (unset: calls are manual) and the secret its callbacks are signed with.
    cti_webhook_url: str | None = None
    cti_callback_secret: SecretStr | None = None
    provider_token: SecretStr | None = None
    provider_timeout_s: float = 5.0
    provider_max_attempts: int = 3
    provider_backoff_s: float = 0.5

    # The sender task: how often it looks for due communications, how many per round, how often to retry.
    sender_interval_s: float = 5.0
    sender_batch_size: int = 50
    send_max_attempts: int = 5
    send_retry_after_s: float = 300.0
    # A reminder whose customer record has not arrived yet is looked at again after this long.
    awaiting_customer_retry_s: float = 60.0

    # Collection strategy: a loan is "high risk" at or above this PD, or when non-performing.
    high_risk_pd: Decimal = Decimal("0.10")
    # Overrides of the strategy table: bucket → [queue when low risk, queue when high risk].
    strategy_overrides: dict[str, tuple[str, str]] = {}
    # Service tickets: SLA in hours per kind.
    ticket_sla_hours: dict[str, int] = {
        "complaint": 48,
        "hardship_request": 72,
        "restructuring_request": 120,
        "data_correction": 72,
    }

    def strategy(self) -> StrategyTable:
        """The collection strategy table: the defaults of docs/domain.md with the configured overrides."""
        table = StrategyTable(high_risk_pd=self.high_risk_pd)
        rows = dict(table.rows)
        for bucket, (low, high) in self.strategy_overrides.items():
            rows[bucket] = (CollectionQueue(low), CollectionQueue(high))
        return StrategyTable(rows=rows, high_risk_pd=self.high_risk_pd)
