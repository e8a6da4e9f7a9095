"""Recoveries after write-off: recorded and announced as `recovery-received`, never allocated to installments."""

from __future__ import annotations

from datetime import date
from typing import Any

from postloan_common.contracts import RecoveryReceivedV1
from postloan_repayment_monitor.service.events import EventBuffer
from postloan_repayment_monitor.service.ledgers import LoanFile, totals

NOTHING = "0.00"


def record_recovery(
    events: EventBuffer, file: LoanFile, *, repayment_id: str, amount: Any, value_date: date, channel: str, on: date
) -> dict[str, Any]:
    """Announce the recovery and return the posting's answer: no allocation, the loan as it stood, still written off."""
    events.add(
        RecoveryReceivedV1(
            loan_id=file.loan_id,
            customer_id=file.row.customer_id,
            repayment_id=repayment_id,
            amount=amount,
            currency=file.row.currency,
            value_date=value_date,
            received_on=on,
            channel=channel,
        ),
        loan_id=file.loan_id,
    )
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
