"""The events of a loan leaving its delinquency bucket, shared by posting, reversal and restructuring."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from postloan_common.contracts import DelinquencyChangedV1, LoanCuredV1
from postloan_repayment_monitor.service.events import EventBuffer
from postloan_repayment_monitor.service.ledgers import LoanFile


def announce_bucket_move(
    events: EventBuffer,
    file: LoanFile,
    *,
    bucket: str,
    on: date,
    previous_dpd: int,
    dpd: int,
    outstanding: Decimal,
    overdue: Decimal,
) -> None:
    """Queue delinquency-changed (and loan-cured when DPD is back to 0) if `bucket` is not the loan's; keep it."""
    if bucket == file.bucket:
        return
    events.add(
        DelinquencyChangedV1(
            loan_id=file.loan_id,
            customer_id=file.row.customer_id,
            from_bucket=file.bucket,
            to_bucket=bucket,
            dpd=dpd,
            overdue_amount=overdue,
            outstanding=outstanding,
            currency=file.row.currency,
        ),
        loan_id=file.loan_id,
    )
    if dpd == 0 and previous_dpd > 0:
        cured = LoanCuredV1(
            loan_id=file.loan_id,
            customer_id=file.row.customer_id,
            cured_on=on,
            from_bucket=file.bucket,
            previous_dpd=previous_dpd,
            outstanding=outstanding,
            currency=file.row.currency,
        )
        events.add(cured, loan_id=file.loan_id)
    file.bucket = bucket
