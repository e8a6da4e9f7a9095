"""Names of the platform's services and topics: plain data, so the CLI needs no service imports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    package: str
    port: int
    database: str
    env_prefix: str

    @property
    def directory(self) -> str:
        return f"services/{self.name}"


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("repayment-monitor", "postloan_repayment_monitor", 8001, "postloan_repayment", "REPAYMENT_MONITOR_"),
    ServiceSpec("risk-alert", "postloan_risk_alert", 8002, "postloan_risk", "RISK_ALERT_"),
    ServiceSpec("crm", "postloan_crm", 8003, "postloan_crm", "CRM_"),
    ServiceSpec("reporting", "postloan_reporting", 8004, "postloan_reporting", "REPORTING_"),
)

# Connectors translate a core banking system's own events into core-banking.*; they are started only
# when configured (`make run` with FINERACT_TOPIC set), so they are not among SERVICES (issue 18).
FINERACT_CONNECTOR = ServiceSpec(
    "fineract-connector", "postloan_fineract_connector", 8005, "postloan_fineract", "FINERACT_CONNECTOR_"
)
CONNECTORS: tuple[ServiceSpec, ...] = (FINERACT_CONNECTOR,)
# Apache Fineract's default external-events topic; not created by the platform (Fineract owns it).
FINERACT_EXTERNAL_EVENTS = "external-events"

CORE_BANKING_LOANS = "core-banking.loans"
CORE_BANKING_CUSTOMERS = "core-banking.customers"
CORE_BANKING_TRANSACTIONS = "core-banking.transactions"
REPAYMENT_LOANS = "repayment.loans"
RISK_SCORES = "risk.scores"
CRM_ACTIVITIES = "crm.activities"

TOPICS: tuple[str, ...] = (
    CORE_BANKING_LOANS,
    CORE_BANKING_CUSTOMERS,
    CORE_BANKING_TRANSACTIONS,
    REPAYMENT_LOANS,
    RISK_SCORES,
    CRM_ACTIVITIES,
)

# Which service consumes which topic (its consumer group is the service name).
CONSUMES: dict[str, tuple[str, ...]] = {
    "repayment-monitor": (CORE_BANKING_LOANS,),
    "risk-alert": (REPAYMENT_LOANS, CRM_ACTIVITIES, CORE_BANKING_TRANSACTIONS, CORE_BANKING_CUSTOMERS),
    "crm": (CORE_BANKING_CUSTOMERS, REPAYMENT_LOANS, RISK_SCORES),
    "reporting": (CORE_BANKING_LOANS, CORE_BANKING_CUSTOMERS, REPAYMENT_LOANS, RISK_SCORES, CRM_ACTIVITIES),
}


def dead_letter_topic(topic: str) -> str:
    """Return the dead-letter topic of `topic`."""
    return f"{topic}.dlt"


def all_topics() -> list[str]:
    """Every topic the platform uses, dead-letter topics included."""
    return [*TOPICS, *(dead_letter_topic(t) for t in TOPICS)]
