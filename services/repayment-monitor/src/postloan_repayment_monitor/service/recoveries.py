"""Recoveries after write-off: recorded and announced as `recovery-received`, never allocated to installments."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from postloan_common.contracts import RecoveryReceivedV1
from postloan_repayment_monitor.service.events import EventBuffer
from postloan_repayment_monitor.service.ledgers import LoanFile, totals

if TYPE_CHECKING:  # repayments.py calls this module: a runtime import would be circular
    from postloan_repayment_monitor.service.repayments import PostRepayment

NOTHING = "0.00"


def record_recovery(events: EventBuffer, file: LoanFile, command: PostRepayment, *, on: date) -> dict[str, Any]:
    """Announce the recovery and return the posting's answer: no allocation, the loan as it stood, still written off."""
    repayment_id, amount, value_date = command.repayment_id, command.amount, command.value_date
    announced = {"repayment_id": repayment_id, "amount": amount, "value_date": value_date, "channel": command.channel}
    keys = {"loan_id": file.loan_id, "customer_id": file.row.customer_id, "currency": file.row.currency}
    events.add(RecoveryReceivedV1.model_validate(keys | announced | {"received_on": on}), loan_id=file.loan_id)
    outstanding, overdue = totals(file.stored(on))
    return {
        "repayment_id": repayment_id,
        "loan_id": file.loan_id,
        "amount": str(amount),
        "value_date": value_date.isoformat(),
        "posted_on": on.isoformat(),
        "recovery": True,
        "allocation": dict.fromkeys(("penalty", "fee", "interest", "principal", "credit"), NOTHING),
        "lines": [],
        "outstanding_after": str(outstanding),
        "overdue_after": str(overdue),
        "dpd_after": file.stored_dpd(on),
        "bucket_after": file.bucket,
        "loan_status": file.status,
    }
