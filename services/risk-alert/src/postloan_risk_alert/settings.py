"""Configuration of the risk-alert service (env prefix `RISK_ALERT_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from postloan_common.settings import ServiceSettings
from postloan_risk_alert.domain.classification import ClassificationPolicy
from postloan_risk_alert.domain.ifrs9 import DEFAULT_LGD, Ifrs9Policy


class Settings(ServiceSettings):
    """risk-alert settings; shared variables (KAFKA_BOOTSTRAP_SERVERS, POSTLOAN_*) need no prefix."""

    model_config = SettingsConfigDict(env_prefix="RISK_ALERT_", extra="ignore")

    service_name: str = "risk-alert"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/postloan_risk"
    port: int = 8002
    consumer_batch_size: int = 1000

    # risk-score-changed is published when the score moves at least this many points or the grade changes.
    score_change_threshold: int = 20
    # Close rule alerts automatically once their condition no longer holds (a rule can opt out).
    auto_resolve_alerts: bool = True
    # Loans of products starting with one of these are non-retail (the 10% debtor rule applies).
    non_retail_product_prefixes: list[str] = Field(default_factory=lambda: ["corp", "sme", "corporate"])
    # Rows re-scored per statement at close of day.
    rescore_chunk_size: int = 50_000
    sicr_pd_ratio: float = 2.0
    sicr_min_increase: float = 0.02
    lgd: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_LGD))

    def segment_of(self, product: str) -> str:
        """retail or corporate, by product code."""
        lowered = product.lower()
        return "corporate" if any(lowered.startswith(p) for p in self.non_retail_product_prefixes) else "retail"

    def ifrs9_policy(self) -> Ifrs9Policy:
        """The IFRS 9 policy these settings configure."""
        return Ifrs9Policy(sicr_pd_ratio=self.sicr_pd_ratio, sicr_min_increase=self.sicr_min_increase, lgd=self.lgd)

    def classification_policy(self) -> ClassificationPolicy:
        """The classification thresholds (defaults of docs/domain.md)."""
        return ClassificationPolicy()
