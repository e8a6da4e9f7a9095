"""Loan intake: validate, generate the schedule when terms are given, store, announce."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import LoanRegisteredV1
from postloan_repayment_monitor.domain.booking import schedule_refusal
from postloan_repayment_monitor.domain.business_days import shift_schedule
from postloan_repayment_monitor.domain.delinquency import bucket_on
from postloan_repayment_monitor.domain.ledger import Scheduled
from postloan_repayment_monitor.domain.money import cents
from postloan_repayment_monitor.domain.refusal import Refusal
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.domain.schedule import generate
from postloan_repayment_monitor.service.events import EventBuffer
from postloan_repayment_monitor.service.holidays import load_calendar, shifting_products
from postloan_repayment_monitor.service.products import load_rules
from postloan_repayment_monitor.store import loans as store


@dataclass(frozen=True)
class Terms:
    method: str
    months: int
    first_due_date: date


@dataclass(frozen=True)
class BookLoan:
    """A loan as core banking books it: either an explicit schedule or terms to generate one."""

    loan_id: str
    customer_id: str
    product: str
    branch: str
    currency: str
    principal: Decimal
    annual_rate: Decimal
    disbursed_on: date
    installments: tuple[Scheduled, ...] | None = None
    terms: Terms | None = None

    def content_hash(self) -> str:
        """Fingerprint of what was asked, to tell a retry from a conflicting second booking."""
        body = {
            "loan_id": self.loan_id,
            "customer_id": self.customer_id,
            "product": self.product,
            "branch": self.branch,
            "currency": self.currency,
            "principal": str(cents(self.principal)),
            "annual_rate": str(self.annual_rate.normalize()),
            "disbursed_on": self.disbursed_on.isoformat(),
            "installments": [
                [i.seq, i.due_date.isoformat(), str(cents(i.principal)), str(cents(i.interest)), str(cents(i.fee))]
                for i in self.installments or ()
            ],
            "terms": [self.terms.method, self.terms.months, self.terms.first_due_date.isoformat()]
            if self.terms
            else None,
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"  # the same booking again: same answer, no second effect


class BookingCode(StrEnum):
    CONFLICT = "conflict"  # the loan id exists with other content
    INVALID = "invalid"


@dataclass(frozen=True)
class BookResult:
    loan_id: str
    outcome: Outcome


class InvalidLoan(ValueError):
    """The booking is self-contradictory (schedule does not match the principal, dates out of order…)."""


def schedule_of(command: BookLoan) -> list[Scheduled]:
    """The explicit schedule, checked, or the one generated from the terms."""
    if command.terms is not None:
        rows = generate(
            method=command.terms.method,
            principal=command.principal,
            annual_rate=command.annual_rate,
            disbursed_on=command.disbursed_on,
            first_due_date=command.terms.first_due_date,
            months=command.terms.months,
        )
        return [Scheduled(r.seq, r.due_date, r.principal, r.interest, r.fee) for r in rows]
    rows_given = sorted(command.installments or (), key=lambda i: i.seq)
    refusal = schedule_refusal(rows_given, principal=command.principal, disbursed_on=command.disbursed_on)
    if refusal is not None:
        raise InvalidLoan(refusal.detail)
    return rows_given


async def book_loans(
    session: AsyncSession,
    *,
    commands: Sequence[BookLoan],
    business_date: date,
    via: str,
    events: EventBuffer,
    buckets: BucketScheme,
    weekend: frozenset[int],
) -> list[BookResult | Refusal]:
    """Book loans idempotently on loan_id; one statement per table for the whole batch.

    Loans of a product that shifts due dates fall due on business days of the calendar (the
    weekend days and the calendar's entries), each installment keeping its contractual date.
    """
    existing = await store.content_hashes(session, {c.loan_id for c in commands})
    rules = await load_rules(session, {c.product for c in commands})
    shifting = await shifting_products(session, {c.product for c in commands if c.loan_id not in existing})
    calendar = await load_calendar(session, weekend=weekend) if shifting else None
    results: list[BookResult | Refusal] = []
    loan_rows: list[dict[str, object]] = []
    installment_rows: list[dict[str, object]] = []
    for command in commands:
        digest = command.content_hash()
        if command.loan_id in existing:
            same = existing[command.loan_id] == digest
            results.append(
                BookResult(command.loan_id, Outcome.UNCHANGED)
                if same
                else Refusal(BookingCode.CONFLICT, f"loan {command.loan_id} is already booked with different content")
            )
            continue
        try:
            contractual = schedule_of(command)
        except ValueError as exc:
            results.append(Refusal(BookingCode.INVALID, str(exc)))
            continue
        schedule = contractual
        if calendar is not None and command.product in shifting:
            schedule = shift_schedule(contractual, calendar)
        existing[command.loan_id] = digest
        product = rules[command.product]
        oldest = schedule[0].due_date
        loan_rows.append(
            {
                "loan_id": command.loan_id,
                "customer_id": command.customer_id,
                "product": command.product,
                "branch": command.branch,
                "currency": command.currency,
                "principal": command.principal,
                "annual_rate": command.annual_rate,
                "disbursed_on": command.disbursed_on,
                "penalty_rate": product.penalty_rate(command.annual_rate),
                "grace_days": product.grace_days,
                "status": "active",
                "content_hash": digest,
                "booked_via": via,
                "oldest_unpaid_due": oldest,
                "bucket": bucket_on(oldest, business_date, buckets),
                "outstanding_principal": command.principal,
            }
        )
        installment_rows.extend(
            {
                "loan_id": command.loan_id,
                "seq": s.seq,
                "due_date": s.due_date,
                "contract_due_date": c.due_date if c.due_date != s.due_date else None,
                "grace_ends_on": s.due_date + timedelta(days=product.grace_days),
                "principal": s.principal,
                "interest": s.interest,
                "fee": s.fee,
            }
            for s, c in zip(schedule, contractual, strict=True)
        )
        events.add(
            LoanRegisteredV1(
                loan_id=command.loan_id,
                customer_id=command.customer_id,
                product=command.product,
                branch=command.branch,
                currency=command.currency,
                principal=command.principal,
                annual_rate=command.annual_rate,
                disbursed_on=command.disbursed_on,
                installment_count=len(schedule),
                first_due_date=schedule[0].due_date,
                maturity_date=schedule[-1].due_date,
            ),
            loan_id=command.loan_id,
        )
        results.append(BookResult(command.loan_id, Outcome.CREATED))
    if loan_rows:
        await store.insert_loans(session, loan_rows=loan_rows, installment_rows=installment_rows)
    return results
