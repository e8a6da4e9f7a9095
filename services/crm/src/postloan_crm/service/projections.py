"""Projections of other services' events: loans (repayment.loans) and risk (risk.scores)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import ClassificationChangedV1, LoanRegisteredV1, RiskScoreChangedV1
from postloan_crm.service.care_messages import plan_care_message
from postloan_crm.service.customers import care_consented, load_customer
from postloan_crm.store import projections as rows_of

MATURITY_NOTICE_DAYS = 30


async def register_loans(session: AsyncSession, *, registered: Sequence[tuple[LoanRegisteredV1, date | None]]) -> None:
    """Start (or refresh) the projection of each loan registered as of a business date.

    Outstanding and the next due date are set only when crm first hears of a loan; a loan registered
    twice in a run gets those from the first registration and everything else from the last.
    """
    rows: dict[str, list[Any]] = {}
    for event, as_of in registered:
        first = rows.get(event.loan_id)
        outstanding, next_due = (first[5], first[6]) if first else (event.principal, event.first_due_date)
        rows[event.loan_id] = [
            event.loan_id,
            event.customer_id,
            event.product,
            event.currency,
            event.principal,
            outstanding,
            next_due,
            event.maturity_date,
            as_of,
        ]
    await rows_of.register_loans(session, [rows[i] for i in sorted(rows)])


@dataclass
class LoanChanges:
    """What a run of events says of loans' state, folded per loan in event order (None: the event is silent)."""

    said: dict[str, dict[str, Any]] = field(default_factory=dict)

    def say(
        self,
        loan_id: str,
        *,
        customer_id: str,
        status: str | None = None,
        closed_on: date | None = None,
        dpd: int | None = None,
        bucket: str | None = None,
        overdue: Decimal | None = None,
        outstanding: Decimal | None = None,
        currency: str | None = None,
        as_of: date | None = None,
    ) -> None:
        """Note what one event says of the loan; a later event overrides what it says again."""
        values = {
            "status": status,
            "closed_on": closed_on,
            "dpd": dpd,
            "bucket": bucket,
            "overdue": overdue,
            "outstanding": outstanding,
            "currency": currency,
            "as_of": as_of,
        }
        state = self.said.setdefault(loan_id, {})
        state.update({k: v for k, v in values.items() if v is not None}, customer_id=customer_id)

    async def write(self, session: AsyncSession) -> None:
        """Write every loan's state, creating the rows of loans new to crm."""
        await rows_of.write_loan_states(session, self.said)
        self.said = {}


@dataclass
class _Installment:
    seq: int
    due_date: date
    amount_due: Decimal
    amount_paid: Decimal
    paid_on: date | None


class InstallmentBook:
    """The installments crm was told of for a run's loans: paid, unpaid and settled in memory, written back together."""

    def __init__(self, by_loan: dict[str, list[_Installment]]) -> None:
        self.by_loan = by_loan
        self.changed: dict[tuple[str, int], _Installment] = {}

    @classmethod
    async def load(cls, session: AsyncSession, loan_ids: Iterable[str]) -> InstallmentBook:
        """Lock and read the installments of `loan_ids`."""
        ids = sorted(set(loan_ids))
        by_loan: dict[str, list[_Installment]] = defaultdict(list)
        for r in await rows_of.lock_installments(session, ids):
            by_loan[r["loan_id"]].append(
                _Installment(r["seq"], r["due_date"], r["amount_due"], r["amount_paid"], r["paid_on"])
            )
        return cls(by_loan)

    def _change(self, loan_id: str, installment: _Installment) -> None:
        self.changed[(loan_id, installment.seq)] = installment

    def apply(self, loan_id: str, *, amount: Decimal, paid_on: date) -> None:
        """Spread a payment over the loan's open installments, oldest first (the default waterfall)."""
        unpaid = sorted(
            (i for i in self.by_loan.get(loan_id, ()) if i.paid_on is None), key=lambda i: (i.due_date, i.seq)
        )
        left = amount
        for installment in unpaid:
            if left <= 0:
                break
            take = min(left, installment.amount_due - installment.amount_paid)
            left -= take
            installment.amount_paid += take
            installment.paid_on = paid_on if installment.amount_paid >= installment.amount_due else None
            self._change(loan_id, installment)

    def unapply(self, loan_id: str, *, amount: Decimal) -> None:
        """Take a reversed payment back from the newest installments it may have covered."""
        paid = sorted(
            (i for i in self.by_loan.get(loan_id, ()) if i.amount_paid > 0),
            key=lambda i: (i.due_date, i.seq),
            reverse=True,
        )
        left = amount
        for installment in paid:
            if left <= 0:
                break
            take = min(left, installment.amount_paid)
            left -= take
            installment.amount_paid -= take
            installment.paid_on = None
            self._change(loan_id, installment)

    def settle(self, loan_id: str, *, on: date) -> None:
        """A closed loan owes nothing: every installment counts as paid."""
        for installment in self.by_loan.get(loan_id, ()):
            if installment.paid_on is None:
                installment.paid_on = on
                self._change(loan_id, installment)

    async def write(self, session: AsyncSession) -> None:
        """Write the installments that changed."""
        if not self.changed:
            return
        keys = sorted(self.changed)
        await rows_of.update_installments(
            session,
            {
                "loan_id": [loan_id for loan_id, _ in keys],
                "seq": [seq for _, seq in keys],
                "amount_paid": [self.changed[k].amount_paid for k in keys],
                "paid_on": [self.changed[k].paid_on for k in keys],
            },
        )
        self.changed = {}


async def note_scores(session: AsyncSession, *, events: Sequence[RiskScoreChangedV1]) -> None:
    """Keep the latest behavioural score of each loan (the last of a run wins)."""
    latest = {event.loan_id: event for event in events}
    rows = [
        {
            "loan_id": e.loan_id,
            "customer_id": e.customer_id,
            "score": e.score,
            "pd": e.pd,
            "grade": e.grade,
            "model_version": e.model_version,
            "reason_codes": list(e.reason_codes),
        }
        for e in (latest[i] for i in sorted(latest))
    ]
    await rows_of.upsert_risk(session, rows)


async def note_classifications(session: AsyncSession, *, events: Sequence[ClassificationChangedV1]) -> None:
    """Keep the latest classification and IFRS 9 stage of each loan (the last of a run wins)."""
    latest = {event.loan_id: event for event in events}
    rows = [
        {
            "loan_id": e.loan_id,
            "customer_id": e.customer_id,
            "classification": e.to_classification.value,
            "ifrs9_stage": int(e.ifrs9_stage),
            "ecl": e.ecl,
        }
        for e in (latest[i] for i in sorted(latest))
    ]
    await rows_of.upsert_risk(session, rows)


async def plan_touchpoint(
    session: AsyncSession, *, customer_id: str, kind: str, due_on: date, loan_id: str | None = None, note: str = ""
) -> None:
    """Plan a care touchpoint once per (customer, kind, day), and its message where the customer consented."""
    new = await rows_of.insert_touchpoint(
        session, customer_id=customer_id, kind=kind, due_on=due_on, loan_id=loan_id, note=note or None
    )
    if new:
        await plan_care_message(session, customer_id=customer_id, kind=kind, due_on=due_on, loan_id=loan_id)


async def plan_care(session: AsyncSession, *, business_date: date) -> None:
    """At close of day: maturity notices for loans maturing within 30 days, birthdays of tomorrow (consented)."""
    horizon = business_date + timedelta(days=MATURITY_NOTICE_DAYS)
    maturing = await rows_of.maturing_loans(session, after=business_date, until=horizon)
    for loan_id, customer_id, maturity in maturing:
        await plan_touchpoint(
            session, customer_id=customer_id, kind="maturity", due_on=maturity, loan_id=loan_id, note="loan matures"
        )
    tomorrow = business_date + timedelta(days=1)
    for customer_id in await rows_of.born_on(session, tomorrow):
        customer = await load_customer(session, customer_id)
        if customer is not None and care_consented(customer):
            await plan_touchpoint(session, customer_id=customer_id, kind="birthday", due_on=tomorrow)
