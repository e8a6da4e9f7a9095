"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_JWT_SECRET = "postloan-development-secret-do-not-use"  # noqa: S105 - refused outside development


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def _shared(name: str) -> AliasChoices:
    """Read a platform-wide variable without the service prefix."""
    return AliasChoices(name)


class ServiceSettings(BaseSettings):
    """Common configuration; subclasses set `model_config` with their own env prefix."""

    model_config = SettingsConfigDict(env_prefix="POSTLOAN_", extra="ignore", populate_by_name=True)

    service_name: str = "postloan"
    environment: Environment = Field(Environment.DEVELOPMENT, validation_alias=_shared("POSTLOAN_ENV"))
    log_level: str = Field("INFO", validation_alias=_shared("POSTLOAN_LOG_LEVEL"))
    log_json: bool = Field(True, validation_alias=_shared("POSTLOAN_LOG_JSON"))

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postloan"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_echo: bool = False

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", validation_alias=_shared("KAFKA_BOOTSTRAP_SERVERS"))
    kafka_topic_partitions: int = Field(4, validation_alias=_shared("POSTLOAN_TOPIC_PARTITIONS"))
    kafka_replication_factor: int = Field(1, validation_alias=_shared("POSTLOAN_TOPIC_REPLICATION"))
    # Tansu cannot do InitProducerId; Apache Kafka in compose turns this on.
    kafka_idempotent_producer: bool = Field(False, validation_alias=_shared("KAFKA_IDEMPOTENT_PRODUCER"))
    kafka_session_timeout_ms: int = Field(10_000, validation_alias=_shared("KAFKA_SESSION_TIMEOUT_MS"))
    consumer_batch_size: int = 500
    consumer_poll_timeout_ms: int = 200

    outbox_batch_size: int = 1000
    outbox_poll_interval_s: float = 1.0
    outbox_retention_hours: float = 72.0

    jwt_secret: SecretStr = Field(SecretStr(DEVELOPMENT_JWT_SECRET), validation_alias=_shared("POSTLOAN_JWT_SECRET"))
    jwt_algorithm: str = "HS256"
    jwt_issuer: str = "postloan"
    jwt_audience: str = "postloan"
    # Platform security limits (issue 13, items 9-11).
    max_body_bytes: int = Field(1024 * 1024, validation_alias=_shared("POSTLOAN_MAX_BODY_BYTES"))
    # Path prefix -> larger body cap, for routes such as a bulk upload; a service sets its own default.
    body_caps: dict[str, int] = Field(default_factory=dict)
    db_statement_timeout_ms: int = Field(30_000, validation_alias=_shared("POSTLOAN_DB_STATEMENT_TIMEOUT_MS"))
    jwt_max_lifetime_hours: float = Field(12.0, validation_alias=_shared("POSTLOAN_JWT_MAX_LIFETIME_HOURS"))
    jwt_leeway_seconds: float = Field(30.0, validation_alias=_shared("POSTLOAN_JWT_LEEWAY_SECONDS"))
    cors_origins: list[str] = Field(default_factory=list, validation_alias=_shared("POSTLOAN_CORS_ORIGINS"))

    @model_validator(mode="after")
    def _refuse_development_secret(self) -> Self:
        if (
            self.environment is not Environment.DEVELOPMENT
            and self.jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET
        ):
            raise ValueError(
                "POSTLOAN_JWT_SECRET must be set to a real secret outside development "
                f"(environment is {self.environment.value})"
            )
        if len(self.jwt_secret.get_secret_value()) < 32 and self.environment is Environment.PRODUCTION:
            raise ValueError("POSTLOAN_JWT_SECRET must be at least 32 characters in production")
        return self


# --- Kafka client security (deployment; see docs/operations-kafka-security.md) ----------------------
class KafkaSecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class KafkaSecuritySettings(BaseSettings):
    """How every producer, consumer and admin client authenticates; platform-wide KAFKA_* variables."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    security_protocol: KafkaSecurityProtocol = KafkaSecurityProtocol.PLAINTEXT
    sasl_mechanism: str = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> Self:
        sasl = self.security_protocol in (KafkaSecurityProtocol.SASL_SSL, KafkaSecurityProtocol.SASL_PLAINTEXT)
        if sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.security_protocol.value} "
                "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return self
