"""Which pydantic model is the contract of each (event type, version), and on which topic it travels."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from postloan_common.catalog import (
    CORE_BANKING_CUSTOMERS,
    CORE_BANKING_LOANS,
    CORE_BANKING_TRANSACTIONS,
    CRM_ACTIVITIES,
    REPAYMENT_LOANS,
    RISK_SCORES,
)
from postloan_common.contracts import core_banking, crm, fund_flows, repayment, risk
from postloan_common.contracts.common import EventData
from postloan_common.messaging.envelope import Envelope


class UnknownContract(ValueError):
    """No contract is registered for an event type and version."""


_BY_TOPIC: dict[str, tuple[type[EventData], ...]] = {
    CORE_BANKING_LOANS: core_banking.LOAN_EVENTS,
    CORE_BANKING_CUSTOMERS: core_banking.CUSTOMER_EVENTS,
    CORE_BANKING_TRANSACTIONS: fund_flows.EVENTS,
    REPAYMENT_LOANS: repayment.EVENTS,
    RISK_SCORES: risk.EVENTS,
    CRM_ACTIVITIES: crm.EVENTS,
}


def _build() -> tuple[dict[tuple[str, int], type[BaseModel]], dict[str, str]]:
    contracts: dict[tuple[str, int], type[BaseModel]] = {}
    topic_of: dict[str, str] = {}
    for topic, models in _BY_TOPIC.items():
        for model in models:
            key = (model.event_type, model.event_version)
            if key in contracts:
                raise RuntimeError(f"duplicate contract {key}: {contracts[key].__name__}, {model.__name__}")
            if topic_of.setdefault(model.event_type, topic) != topic:
                raise RuntimeError(f"event type {model.event_type!r} registered on two topics")
            contracts[key] = model
    return contracts, topic_of


CONTRACTS, TOPIC_OF = _build()


def contract_for(type_: str, version: int) -> type[BaseModel]:
    """Return the model of `data` for an event type and version; raise `UnknownContract` if none."""
    try:
        return CONTRACTS[(type_, version)]
    except KeyError:
        known = sorted(v for t, v in CONTRACTS if t == type_)
        hint = f" (known versions: {known})" if known else ""
        raise UnknownContract(f"no contract for event type {type_!r} version {version}{hint}") from None


def latest_version(type_: str) -> int:
    """Return the highest registered version of an event type."""
    versions = [v for t, v in CONTRACTS if t == type_]
    if not versions:
        raise UnknownContract(f"no contract for event type {type_!r}")
    return max(versions)


def parse_data(envelope: Envelope) -> BaseModel:
    """Validate `envelope.data` against its contract (raises `UnknownContract` or `ValidationError`)."""
    return contract_for(envelope.type, envelope.version).model_validate(envelope.data)


def make_envelope(
    *,
    data: BaseModel,
    source: str,
    subject: str,
    business_date: date | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> Envelope:
    """Wrap a contract instance in an envelope; type and version come from the model class."""
    cls = type(data)
    type_: str | None = getattr(cls, "event_type", None)
    version: int | None = getattr(cls, "event_version", None)
    if type_ is None or version is None or CONTRACTS.get((type_, version)) is not cls:
        raise UnknownContract(f"{cls.__name__} is not a registered event contract")
    return Envelope(
        type=type_,
        version=version,
        source=source,
        subject=subject,
        business_date=business_date,
        correlation_id=correlation_id,
        causation_id=causation_id,
        data=data.model_dump(mode="json"),
    )
