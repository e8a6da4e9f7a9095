"""The collector of repayment-monitor's events: registrations, payments, delinquency, installments, recoveries."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel

from postloan_common.contracts import repayment
from postloan_common.messaging.envelope import Envelope
from postloan_reporting.domain.intervals import FactKind, anchor_of
from postloan_reporting.domain.model import month_start
from postloan_reporting.service.ingest.changes import Changes, business_date
from postloan_reporting.store import upserts

# The repayment events that change a loan's terms or facts (and so its intervals).
FOLDING = (
    repayment.LoanRegisteredV1
    | repayment.PaymentReceivedV1
    | repayment.PaymentReversedV1
    | repayment.PaymentMissedV1
    | repayment.DelinquencyChangedV1
    | repayment.LoanCuredV1
    | repayment.LoanClosedV1
    | repayment.LoanRescheduledV1
)


def _money_moved(
    changes: Changes,
    envelope: Envelope,
    data: repayment.PaymentReceivedV1 | repayment.PaymentReversedV1,
    kind: FactKind,
    **extra: Decimal,
) -> None:
    """The fact of a payment or its reversal, effective on its value date (never after the business date)."""
    day = business_date(envelope)
    effective = min(data.value_date, day)
    # The payment a reversal undoes may be effective before any day this run changed: fold it all.
    key = changes.touch(data.loan_id, effective, from_the_start=kind is FactKind.REVERSAL)
    changes.fact(
        envelope,
        key,
        kind,
        effective,
        dpd_anchor=anchor_of(day, data.dpd_after),
        outstanding_total=data.outstanding_after,
        overdue=data.overdue_after,
        amount=data.amount,
        repayment_id=data.repayment_id,
        **extra,
    )


def _registered(changes: Changes, data: repayment.LoanRegisteredV1) -> None:
    key = changes.touch(data.loan_id, data.disbursed_on, from_the_start=True)
    changes.registrations[key] = (
        key,
        data.customer_id,
        data.product,
        data.branch,
        data.currency,
        data.principal,
        data.disbursed_on,
        month_start(data.disbursed_on),
    )


def collect(changes: Changes, envelope: Envelope, data: BaseModel) -> None:
    """Add what one repayment event writes to `changes`."""
    day = business_date(envelope)
    match data:
        case repayment.LoanRegisteredV1():
            _registered(changes, data)
        case repayment.PaymentReceivedV1():
            _money_moved(changes, envelope, data, FactKind.PAYMENT, principal_paid=data.allocation.principal)
        case repayment.PaymentReversedV1():
            _money_moved(changes, envelope, data, FactKind.REVERSAL)
        case repayment.PaymentMissedV1():
            key = changes.touch(data.loan_id, day)
            changes.installment(
                key, data.installment_seq, due_date=data.due_date, amount=data.amount_overdue, missed=True
            )
            changes.fact(envelope, key, FactKind.STATE, day, dpd_anchor=anchor_of(day, data.dpd))
        case repayment.DelinquencyChangedV1():
            key = changes.touch(data.loan_id, day)
            changes.fact(
                envelope,
                key,
                FactKind.STATE,
                day,
                dpd_anchor=anchor_of(day, data.dpd),
                outstanding_total=data.outstanding,
                overdue=data.overdue_amount,
            )
        case repayment.LoanCuredV1():
            key = changes.touch(data.loan_id, data.cured_on)
            changes.fact(
                envelope, key, FactKind.STATE, data.cured_on, outstanding_total=data.outstanding, overdue=Decimal(0)
            )
        case repayment.LoanClosedV1():
            key = changes.touch(data.loan_id, data.closed_on)
            changes.fact(envelope, key, FactKind.CLOSED, data.closed_on)
            if data.reason is repayment.CloseReason.WRITTEN_OFF:
                changes.upsert(upserts.WRITE_OFF, (key, data.closed_on))
        case repayment.RecoveryReceivedV1():
            row = (data.repayment_id, changes.keys[data.loan_id], data.amount, data.received_on, data.channel)
            changes.upsert(upserts.RECOVERY, row)
        case repayment.LoanRescheduledV1():
            key = changes.touch(data.loan_id, data.restructured_on)
            changes.fact(
                envelope,
                key,
                FactKind.RESCHEDULE,
                data.restructured_on,
                principal_reset=data.outstanding_principal,
                overdue=Decimal(0),
            )
        case repayment.PaymentDueV1():
            changes.installment(
                changes.keys[data.loan_id], data.installment_seq, due_date=data.due_date, amount=data.amount_due
            )
