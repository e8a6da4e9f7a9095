"""Settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The public half of the development key pair (the private half is postloan_dev.devkeys); a process
# accepts it only when POSTLOAN_ENV says development or test, so production never trusts it.
DEVELOPMENT_JWT_PUBLIC_KEY = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAUlJUqP0nAKS82z7YbqqZHlqiH/Mq9PV6W9O36ZsNGQU=
-----END PUBLIC KEY-----
"""
# Asymmetric only: a service holds a public key and so cannot mint tokens (issue 13, item 11).
JWT_ALGORITHMS = frozenset({"EdDSA", "RS256"})


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
    # The worker's metrics endpoint (`<PREFIX>METRICS_PORT`); None: the API port + 1000, 0: none.
    metrics_port: int | None = None
    consumer_batch_size: int = 500
    consumer_poll_timeout_ms: int = 200

    outbox_batch_size: int = 1000
    outbox_poll_interval_s: float = 1.0
    outbox_retention_hours: float = 72.0

    # PEM public key, or a JWKS URL; neither in development/test means the development public key.
    jwt_public_key: str | None = Field(None, validation_alias=_shared("POSTLOAN_JWT_PUBLIC_KEY"))
    jwt_jwks_url: str | None = Field(None, validation_alias=_shared("POSTLOAN_JWT_JWKS_URL"))
    jwt_algorithm: str = Field("EdDSA", validation_alias=_shared("POSTLOAN_JWT_ALGORITHM"))
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

    @property
    def accepts_development_key(self) -> bool:
        """True only when POSTLOAN_ENV was set to development or test; an unset environment is not trusted."""
        explicit = "environment" in self.model_fields_set
        return explicit and self.environment in (Environment.DEVELOPMENT, Environment.TEST)

    @field_validator("jwt_public_key")
    @classmethod
    def _unescape_newlines(cls, value: str | None) -> str | None:
        # env files hold one line per variable, so a PEM may arrive with its newlines written as \\n.
        return value.replace("\\n", "\n") if value else value

    @model_validator(mode="after")
    def _refuse_development_key(self) -> Self:
        if self.jwt_algorithm not in JWT_ALGORITHMS:
            raise ValueError(f"jwt_algorithm must be one of {sorted(JWT_ALGORITHMS)}, not {self.jwt_algorithm!r}")
        if is_development_key(self.jwt_public_key) and not self.accepts_development_key:
            raise ValueError(
                "POSTLOAN_JWT_PUBLIC_KEY is the development key; it is accepted only with "
                f"POSTLOAN_ENV=development or test (environment is {self.environment.value})"
            )
        return self

    def jwt_verification_key(self) -> str | None:
        """The PEM public key tokens are verified with; None when a JWKS URL supplies the keys."""
        if self.jwt_jwks_url:
            return None
        if self.jwt_public_key:
            return self.jwt_public_key
        if self.accepts_development_key:
            return DEVELOPMENT_JWT_PUBLIC_KEY
        raise ValueError("set POSTLOAN_JWT_PUBLIC_KEY or POSTLOAN_JWT_JWKS_URL (outside development and tests)")


def is_development_key(pem: str | None) -> bool:
    """Whether `pem` is the committed development public key."""
    return pem is not None and pem.strip() == DEVELOPMENT_JWT_PUBLIC_KEY.strip()


class SmtpSettings(BaseSettings):
    """E-mail over SMTP, read under the service's own prefix (`CRM_SMTP_HOST`, `REPORTING_SMTP_HOST`, …).

    The defaults point at a local test server (e.g. aiosmtpd) for development.
    """

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_from: str = "postloan@postloan.local"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_start_tls: bool = False
    smtp_timeout_s: float = 10.0


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
