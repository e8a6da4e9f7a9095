"""Event handlers of crm: core-banking.customers, repayment.loans and risk.scores, one small handler per type.

Each high-volume type has a batch handler applying a run of consecutive events at once: the run is read once,
decided event by event in memory by the same rules, and written back with a few set-based statements; every
event of a run is parsed before anything is written, so bad data raises PermanentError and the consumer
re-applies the batch event by event to dead-letter only that event.
"""

from __future__ import annotations

from postloan_common.messaging.consumer import BatchHook, Handler
from postloan_crm.consumers.alerts import ReviewsDue, RiskAlertsRaised, RiskAlertsResolved
from postloan_crm.consumers.common import Clock, one_at_a_time, utcnow
from postloan_crm.consumers.customers import CustomersUpserted, customer_data
from postloan_crm.consumers.day import DayClosed
from postloan_crm.consumers.delinquency import DelinquenciesChanged, PaymentsMissed
from postloan_crm.consumers.loans import LoansClosed, LoansCured, LoansRegistered, PaymentsDue
from postloan_crm.consumers.payments import PaymentsReceived, PaymentsReversed
from postloan_crm.consumers.risk import ClassificationsChanged, RiskScoresChanged
from postloan_crm.domain.strategy import StrategyTable

__all__ = ["build_batch_handlers", "build_handlers", "customer_data"]


def build_handlers(*, strategy: StrategyTable, clock: Clock = utcnow) -> dict[str, Handler]:
    """The handler of each consumed event type; a type handled in runs applies a run of one event."""
    handlers = {
        name: one_at_a_time(batch) for name, batch in build_batch_handlers(strategy=strategy, clock=clock).items()
    }
    return handlers | {"day-closed": DayClosed(strategy, clock)}


def build_batch_handlers(*, strategy: StrategyTable, clock: Clock = utcnow) -> dict[str, BatchHook]:
    """The handlers of the high-volume types, each applying a run of consecutive events of its type at once."""
    return {
        "customer-upserted": CustomersUpserted(),
        "loan-registered": LoansRegistered(),
        "payment-due": PaymentsDue(clock),
        "payment-received": PaymentsReceived(strategy),
        "payment-reversed": PaymentsReversed(strategy),
        "payment-missed": PaymentsMissed(strategy),
        "delinquency-changed": DelinquenciesChanged(strategy),
        "loan-cured": LoansCured(strategy),
        "loan-closed": LoansClosed(strategy),
        "risk-score-changed": RiskScoresChanged(strategy),
        "classification-changed": ClassificationsChanged(strategy),
        "risk-alert-raised": RiskAlertsRaised(strategy),
        "risk-alert-resolved": RiskAlertsResolved(strategy),
        "review-due": ReviewsDue(strategy),
    }
