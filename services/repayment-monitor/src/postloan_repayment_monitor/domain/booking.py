"""Booking rules: what makes an explicit repayment schedule acceptable for a loan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from postloan_repayment_monitor.domain.ledger import Scheduled
from postloan_repayment_monitor.domain.money import ZERO
from postloan_repayment_monitor.domain.refusal import Refusal

INVALID_SCHEDULE = "invalid_schedule"


def schedule_refusal(installments: Sequence[Scheduled], *, principal: Decimal, disbursed_on: date) -> Refusal | None:
    """Why the schedule (in seq order) cannot be booked, or None.

    Seq runs 1, 2, 3, … without gaps; due dates strictly increase and the first is after the
    disbursement; the installments' principal sums to the loan's principal.
    """
    if not installments:
        return Refusal(INVALID_SCHEDULE, "a loan needs installments or terms")
    seqs = [i.seq for i in installments]
    if seqs != list(range(1, len(seqs) + 1)):
        return Refusal(INVALID_SCHEDULE, "installment seq must run 1, 2, 3, … without gaps")
    dates = [i.due_date for i in installments]
    if dates != sorted(dates) or len(set(dates)) != len(dates):
        return Refusal(INVALID_SCHEDULE, "installment due dates must strictly increase with seq")
    if dates[0] <= disbursed_on:
        return Refusal(INVALID_SCHEDULE, "the first due date must be after disbursed_on")
    total = sum((i.principal for i in installments), ZERO)
    if total != principal:
        return Refusal(INVALID_SCHEDULE, f"installment principal sums to {total}, not the loan principal {principal}")
    return None
