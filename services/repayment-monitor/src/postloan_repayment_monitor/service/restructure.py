"""Restructuring a loan: validated, idempotent on restructure_id, replayed, stored, announced once.

The installments a restructuring replaces move from `installments` (the schedule in force, which
close of day and the queries read) to `replaced_installments`; the new ones are numbered on from
the highest seq the loan ever had. The loan's replay rebuilds the same state from the original
schedule, the repayments and the stored restructurings (domain.ledger).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import LoanRescheduledV1
from postloan_repayment_monitor.domain.ledger import Ledger, Restructuring, Scheduled
from postloan_repayment_monitor.domain.money import ZERO, cents
from postloan_repayment_monitor.domain.refusal import Refusal
from postloan_repayment_monitor.domain.restructuring import (
    Basis,
    InvalidSchedule,
    basis,
    checked,
    generated,
    renumbered,
)
from postloan_repayment_monitor.domain.rules import BucketScheme, Component
from postloan_repayment_monitor.service.bucket_moves import announce_bucket_move
from postloan_repayment_monitor.service.events import EventBuffer
from postloan_repayment_monitor.service.holidays import on_business_days
from postloan_repayment_monitor.service.intake import Terms
from postloan_repayment_monitor.service.ledgers import LoanFile, lock_loans, persist, totals
from postloan_repayment_monitor.service.products import load_rules
from postloan_repayment_monitor.store import restructurings as store


class RestructureCode(StrEnum):
    UNKNOWN_LOAN = "unknown_loan"
    LOAN_CLOSED = "loan_closed"
    ID_REUSED = "restructure_id_reused"
    DATE_IN_FUTURE = "restructured_on_in_future"
    DATE_BEFORE_DISBURSEMENT = "restructured_on_before_disbursement"
    DATE_NOT_AFTER_PREVIOUS = "restructured_on_not_after_previous"
    INVALID_SCHEDULE = "invalid_schedule"
    PRINCIPAL_MISMATCH = "outstanding_principal_mismatch"


@dataclass(frozen=True)
class Restructure:
    """A restructuring as core banking sends it: a new schedule (or terms) for the open balance."""

    restructure_id: str
    loan_id: str
    restructured_on: date
    reason: str
    outstanding_principal: Decimal
    annual_rate: Decimal | None = None  # None: the contract rate stays
    installments: tuple[Scheduled, ...] | None = None
    terms: Terms | None = None

    def request_hash(self) -> str:
        """Fingerprint of the request, to tell a retry from a different restructuring under the same id."""
        body = {
            "restructure_id": self.restructure_id,
            "loan_id": self.loan_id,
            "restructured_on": self.restructured_on.isoformat(),
            "reason": self.reason,
            "outstanding_principal": str(cents(self.outstanding_principal)),
            "annual_rate": str(self.annual_rate.normalize()) if self.annual_rate is not None else None,
            "installments": [
                [i.seq, i.due_date.isoformat(), str(cents(i.principal)), str(cents(i.interest)), str(cents(i.fee))]
                for i in sorted(self.installments, key=lambda i: i.seq)
            ]
            if self.installments is not None
            else None,
            "terms": [self.terms.method, self.terms.months, self.terms.first_due_date.isoformat()]
            if self.terms
            else None,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Restructured:
    """The answer to a restructuring (also the answer to the same restructuring again)."""

    restructure_id: str
    loan_id: str
    duplicate: bool
    result: dict[str, Any]


async def restructure_loan(
    session: AsyncSession,
    *,
    command: Restructure,
    business_date: date,
    events: EventBuffer,
    buckets: BucketScheme,
    weekend: frozenset[int],
) -> Restructured | Refusal:
    """Replace the loan's open installments by the new schedule; the same restructuring again changes nothing."""

    # The loan is locked first, so the same restructuring sent twice at once is answered as a duplicate.
    file = (await lock_loans(session, [command.loan_id])).get(command.loan_id)
    digest = command.request_hash()
    earlier = await store.earlier_restructuring(session, restructure_id=command.restructure_id)
    if earlier is not None:
        if earlier[0] == digest:
            return Restructured(command.restructure_id, command.loan_id, True, earlier[1])
        return Refusal(
            RestructureCode.ID_REUSED, f"restructuring {command.restructure_id} was already applied with other details"
        )
    refusal = _check(command, file, business_date)
    if refusal is not None:
        return refusal
    assert file is not None
    on = command.restructured_on
    before = basis(
        file.schedule,
        file.payments,
        rules=file.rules,
        contract_rate=file.row.annual_rate,
        restructured_on=on,
        restructurings=file.restructurings,
    )
    if command.outstanding_principal != before.open_principal:
        return Refusal(
            RestructureCode.PRINCIPAL_MISMATCH,
            f"outstanding_principal {command.outstanding_principal} does not match the loan's open principal "
            f"{before.open_principal} on {on}",
        )
    annual_rate = command.annual_rate if command.annual_rate is not None else _contract_rate(file)
    try:
        new_schedule = _new_schedule(command, before, annual_rate)
    except InvalidSchedule as exc:
        return Refusal(RestructureCode.INVALID_SCHEDULE, str(exc))
    contract_dates = [s.due_date for s in new_schedule]
    new_schedule = await on_business_days(session, product=file.row.product, schedule=new_schedule, weekend=weekend)
    if command.annual_rate is None:
        penalty_rate = file.row.penalty_rate
    else:
        product = (await load_rules(session, {file.row.product}))[file.row.product]
        penalty_rate = product.penalty_rate(command.annual_rate)
    last_seq = max(s.seq for s in [*file.schedule, *(i for r in file.restructurings for i in r.installments)])
    restructuring = Restructuring(
        restructure_id=command.restructure_id,
        restructured_on=on,
        installments=renumbered(new_schedule, after_seq=last_seq),
        outstanding_principal=command.outstanding_principal,
        annual_rate=annual_rate,
        penalty_rate=penalty_rate,
        after_order=max((p.order for p in file.payments if p.value_date <= on), default=0),
    )
    file.restructurings = (*file.restructurings, restructuring)
    after = file.replay(business_date)
    result = _announce(file, command, restructuring, after, before, business_date, events, buckets)
    await _store(session, file, restructuring, after, result, digest, business_date, contract_dates)
    await persist(session, [file], {file.loan_id: after})
    return Restructured(command.restructure_id, command.loan_id, False, result)


def _check(command: Restructure, file: LoanFile | None, business_date: date) -> Refusal | None:
    if file is None:
        return Refusal(RestructureCode.UNKNOWN_LOAN, f"loan {command.loan_id} is not known")
    if file.status != "active":
        return Refusal(RestructureCode.LOAN_CLOSED, f"loan {command.loan_id} is {file.status}")
    on = command.restructured_on
    if on > business_date:
        return Refusal(
            RestructureCode.DATE_IN_FUTURE, f"restructured_on {on} is after the business date {business_date}"
        )
    if on < file.row.disbursed_on:
        disbursed = file.row.disbursed_on
        return Refusal(
            RestructureCode.DATE_BEFORE_DISBURSEMENT, f"restructured_on {on} is before the disbursement on {disbursed}"
        )
    if file.restructurings and on <= file.restructurings[-1].restructured_on:
        previous = file.restructurings[-1]
        return Refusal(
            RestructureCode.DATE_NOT_AFTER_PREVIOUS,
            f"restructured_on {on} is not after the loan's restructuring {previous.restructure_id} "
            f"on {previous.restructured_on}",
        )
    return None


def _contract_rate(file: LoanFile) -> Decimal:
    """The rate in force: the latest restructuring's, else the booked one."""
    return file.restructurings[-1].annual_rate if file.restructurings else file.row.annual_rate


def _new_schedule(command: Restructure, before: Basis, annual_rate: Decimal) -> list[Scheduled]:
    if command.terms is not None:
        return generated(
            method=command.terms.method,
            months=command.terms.months,
            first_due_date=command.terms.first_due_date,
            principal=command.outstanding_principal,
            annual_rate=annual_rate,
            restructured_on=command.restructured_on,
            overdue_interest=before.overdue_interest,
            overdue_fee=before.overdue_fee,
        )
    return checked(
        command.installments or (), restructured_on=command.restructured_on, principal=command.outstanding_principal
    )


def _announce(
    file: LoanFile,
    command: Restructure,
    restructuring: Restructuring,
    after: Ledger,
    before: Basis,
    business_date: date,
    events: EventBuffer,
    buckets: BucketScheme,
) -> dict[str, Any]:
    """Queue loan-rescheduled (and delinquency-changed, loan-cured when the bucket moves); return the answer."""
    new = restructuring.installments
    effect = after.restructured[restructuring.restructure_id]
    bucket_before = buckets.bucket_of(effect.dpd_before)
    events.add(
        LoanRescheduledV1(
            loan_id=file.loan_id,
            customer_id=file.row.customer_id,
            restructure_id=restructuring.restructure_id,
            restructured_on=restructuring.restructured_on,
            reason=command.reason,
            outstanding_principal=restructuring.outstanding_principal,
            installment_count=len(new),
            first_due_date=new[0].due_date,
            maturity_date=new[-1].due_date,
            dpd_before=effect.dpd_before,
            bucket_before=bucket_before,
        ),
        loan_id=file.loan_id,
    )
    stored_dpd = file.stored_dpd(business_date)
    outstanding, overdue = totals(after)
    dpd = after.dpd
    bucket = buckets.bucket_of(dpd)
    announce_bucket_move(
        events,
        file,
        bucket=bucket,
        on=business_date,
        previous_dpd=stored_dpd,
        dpd=dpd,
        outstanding=outstanding,
        overdue=overdue,
    )
    replaced = effect.replaced
    return {
        "restructure_id": restructuring.restructure_id,
        "loan_id": file.loan_id,
        "restructured_on": restructuring.restructured_on.isoformat(),
        "posted_on": business_date.isoformat(),
        "reason": command.reason,
        "outstanding_principal": str(restructuring.outstanding_principal),
        "annual_rate": str(restructuring.annual_rate),
        "replaced_seqs": [i.seq for i in replaced],
        "replaced_open": {c.value: str(sum((i.owed(c) for i in replaced), ZERO)) for c in Component},
        # Only into a schedule generated from terms; an explicit schedule carries them as core banking chose.
        "arrears_folded": {"interest": str(before.overdue_interest), "fee": str(before.overdue_fee)}
        if command.terms
        else None,
        "penalty_waived": str(before.open_penalty),
        "installments": [
            {
                "seq": i.seq,
                "due_date": i.due_date.isoformat(),
                "principal": str(i.principal),
                "interest": str(i.interest),
                "fee": str(i.fee),
            }
            for i in new
        ],
        "dpd_before": effect.dpd_before,
        "bucket_before": bucket_before,
        "dpd_after": dpd,
        "bucket_after": bucket,
        "outstanding_after": str(outstanding),
        "overdue_after": str(overdue),
        "loan_status": file.status,
    }


async def _store(
    session: AsyncSession,
    file: LoanFile,
    restructuring: Restructuring,
    after: Ledger,
    result: dict[str, Any],
    digest: str,
    business_date: date,
    contract_dates: list[date],
) -> None:
    """Record the restructuring, move the replaced installments to their history and insert the new ones."""
    replaced = after.restructured[restructuring.restructure_id].replaced
    await store.write_restructuring(
        session,
        loan_id=file.loan_id,
        restructuring=restructuring,
        replaced=replaced,
        reason=result["reason"],
        replaced_penalty_rate=file.row.penalty_rate,
        grace_days=file.row.grace_days,
        result=result,
        digest=digest,
        business_date=business_date,
        contract_dates=contract_dates,
    )
    for i in replaced:
        file.stored_installments.pop(i.seq, None)
