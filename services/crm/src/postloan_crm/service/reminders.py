"""Reminders: planned on payment-due under the contact policy, sent when due, suppressed when moot."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import PaymentDueV1
from postloan_common.logging import get_logger
from postloan_common.messaging.envelope import new_event_id
from postloan_crm.domain.channels import REMINDER_CHANNELS, choose_channel
from postloan_crm.domain.contact_policy import (
    Decision,
)
from postloan_crm.domain.templates import ReminderFacts, render_reminder
from postloan_crm.service.contact_checks import decide, history_days
from postloan_crm.service.customers import (
    CustomerData,
    collection_consents,
    load_customers,
    recipients,
)
from postloan_crm.service.policies import contact_histories, load_policies
from postloan_crm.store.tables import communications

log = get_logger(__name__)

QUEUED, DEFERRED, SENT, FAILED, SUPPRESSED = "queued", "deferred", "sent", "failed", "suppressed"
AWAITING_CUSTOMER = "awaiting_customer"
# How long a reminder waits for its customer's record before it is given up.
CUSTOMER_GRACE = timedelta(hours=1)
CUSTOMER_RETRY = timedelta(minutes=1)


_NOTE_INSTALLMENTS = """
    INSERT INTO installments_due
        (loan_id, seq, customer_id, due_date, amount_due, amount_paid, currency, payment_reference, paid_on)
    SELECT u.loan_id, u.seq, u.customer_id, u.due_date, u.amount_due, 0, u.currency, u.payment_reference, NULL
    FROM unnest(CAST(:loan_id AS text[]), CAST(:seq AS int[]), CAST(:customer_id AS text[]),
                CAST(:due_date AS date[]), CAST(:amount_due AS numeric[]), CAST(:currency AS text[]),
                CAST(:payment_reference AS text[]))
         AS u(loan_id, seq, customer_id, due_date, amount_due, currency, payment_reference)
    ON CONFLICT ON CONSTRAINT pk_installments_due DO UPDATE
    SET amount_due = excluded.amount_due, amount_paid = excluded.amount_paid, due_date = excluded.due_date,
        payment_reference = excluded.payment_reference, paid_on = NULL
"""
_INSTALLMENT_COLUMNS = ("loan_id", "seq", "customer_id", "due_date", "amount_due", "currency", "payment_reference")
_NOTE_NEXT_DUE = """
    UPDATE loans AS l SET next_due_date = u.due_date, next_due_amount = u.amount_due
    FROM unnest(CAST(:loan_id AS text[]), CAST(:due_date AS date[]), CAST(:amount_due AS numeric[]))
         AS u(loan_id, due_date, amount_due)
    WHERE l.loan_id = u.loan_id AND (l.next_due_date IS NULL OR l.next_due_date <= u.due_date)
"""


async def note_installments_due(session: AsyncSession, *, dues: Sequence[PaymentDueV1]) -> None:
    """Remember what is open on each installment now; payments from here on count towards it.

    Applied as if one after another: an installment told twice keeps its first customer and currency and
    the rest from the last; a loan's next due date moves only forward, with the amount last told for it.
    """
    installments: dict[tuple[str, int], list[Any]] = {}
    for due in dues:
        key = (due.loan_id, due.installment_seq)
        first = installments.get(key)
        customer_id, currency = (first[2], first[5]) if first else (due.customer_id, due.currency)
        installments[key] = [
            due.loan_id,
            due.installment_seq,
            customer_id,
            due.due_date,
            due.amount_due,
            currency,
            due.payment_reference,
        ]
    next_due: dict[str, tuple[date, Decimal]] = {}
    for due in dues:
        latest = next_due.get(due.loan_id)
        if latest is None or latest[0] <= due.due_date:
            next_due[due.loan_id] = (due.due_date, due.amount_due)
    if not dues:
        return
    rows = [installments[key] for key in sorted(installments)]
    await session.execute(text(_NOTE_INSTALLMENTS), dict(zip(_INSTALLMENT_COLUMNS, _columns(rows), strict=True)))
    loan_ids = sorted(next_due)
    await session.execute(
        text(_NOTE_NEXT_DUE),
        {
            "loan_id": loan_ids,
            "due_date": [next_due[i][0] for i in loan_ids],
            "amount_due": [next_due[i][1] for i in loan_ids],
        },
    )


async def plan_reminders(
    session: AsyncSession, *, dues: Sequence[tuple[PaymentDueV1, str]], now: datetime
) -> list[str]:
    """Store the reminder of each payment-due event (with its event id) as queued, deferred or suppressed.

    Return their statuses. Nothing a planned reminder changes is read by the next one's decision (only sent
    messages count against caps), so every row is decided on what was read once for the run.
    """
    await note_installments_due(session, dues=[due for due, _ in dues])
    customers = await load_customers(session, {due.customer_id for due, _ in dues})
    policies = await load_policies(session)
    histories = await contact_histories(
        session,
        customer_ids=customers,
        channels=REMINDER_CHANNELS,
        now=now,
        days=max(history_days(p) for p in policies) if policies else 1,
    )

    def verdict(customer: CustomerData, channel: str) -> Decision:
        history = histories.get((customer.customer_id, channel), ())
        return decide(policies, customer=customer, channel=channel, now=now, history=history)

    rows: list[dict[str, Any]] = []
    for due, source_event_id in dues:
        customer = customers.get(due.customer_id)
        row = _reminder_row(due, customer=customer, source_event_id=source_event_id, now=now)
        status, reason = _initial_status(due=due, customer=customer, row=row, verdict=verdict)
        row.update(status=status, reason=reason, was_deferred=status == DEFERRED)
        rows.append(row)
    if rows:
        stmt = pg_insert(communications).on_conflict_do_nothing(index_elements=["source_event_id"])
        await session.execute(stmt, rows)
    return [str(row["status"]) for row in rows]


def _reminder_row(
    due: PaymentDueV1, *, customer: CustomerData | None, source_event_id: str, now: datetime
) -> dict[str, Any]:
    facts = ReminderFacts(
        loan_id=due.loan_id,
        installment_seq=due.installment_seq,
        amount=due.amount_due,
        currency=due.currency,
        due_date=due.due_date,
        payment_reference=due.payment_reference,
        days_before_due=due.days_before_due,
    )
    message = render_reminder(facts, language=customer.language if customer else "zh-CN")
    return {
        "communication_id": str(new_event_id()),
        "customer_id": due.customer_id,
        "loan_id": due.loan_id,
        "channel": None,
        "recipient": None,
        "template": message.template,
        "language": message.language,
        "subject": message.subject,
        "body": message.body,
        "installment_seq": due.installment_seq,
        "due_date": due.due_date,
        "amount_due": due.amount_due,
        "currency": due.currency,
        "payment_reference": due.payment_reference,
        "source_event_id": source_event_id,
        "send_after": now,
    }


def _initial_status(
    *,
    due: PaymentDueV1,
    customer: CustomerData | None,
    row: dict[str, Any],
    verdict: Callable[[CustomerData, str], Decision],
) -> tuple[str, str | None]:
    if due.amount_due <= 0:
        return SUPPRESSED, "installment_paid"
    if customer is None:
        # The customer may still be on its way on another topic; the sender decides channel and wording.
        return QUEUED, AWAITING_CUSTOMER
    choice = choose_channel(
        preferred=customer.preferred_channel, consents=collection_consents(customer), recipients=recipients(customer)
    )
    if choice.channel is None:
        return SUPPRESSED, choice.reason
    row.update(channel=choice.channel, recipient=choice.recipient)
    decision = verdict(customer, choice.channel)
    if decision.allowed:
        return QUEUED, None
    if decision.until is None:
        return SUPPRESSED, decision.rule.value if decision.rule else "refused"
    row["send_after"] = decision.until
    return DEFERRED, decision.rule.value if decision.rule else None


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows as column-wise lists, to bind as unnest() arrays."""
    return [list(column) for column in zip(*rows, strict=True)]
