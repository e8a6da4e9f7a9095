"""Reminders: planned on payment-due under the contact policy, sent when due, suppressed when moot."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

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
from postloan_crm.store import reminders as reminder_rows

log = get_logger(__name__)

QUEUED, DEFERRED, SENT, FAILED, SUPPRESSED = "queued", "deferred", "sent", "failed", "suppressed"
AWAITING_CUSTOMER = "awaiting_customer"
# How long a reminder waits for its customer's record before it is given up.
CUSTOMER_GRACE = timedelta(hours=1)
CUSTOMER_RETRY = timedelta(minutes=1)


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
    await reminder_rows.upsert_installments_due(session, rows)
    loan_ids = sorted(next_due)
    await reminder_rows.move_next_due(
        session,
        loan_id=loan_ids,
        due_date=[next_due[i][0] for i in loan_ids],
        amount_due=[next_due[i][1] for i in loan_ids],
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
    await reminder_rows.insert_communications(session, rows)
    return [str(row["status"]) for row in rows]


def reminder_facts(values: Mapping[str, Any], *, days_before_due: int) -> ReminderFacts:
    """What a reminder states, from a payment-due's or a stored reminder's values (the amount named `amount_due`)."""
    stated = ("loan_id", "installment_seq", "currency", "due_date", "payment_reference")
    return ReminderFacts(**{k: values[k] for k in stated}, amount=values["amount_due"], days_before_due=days_before_due)


def _reminder_row(
    due: PaymentDueV1, *, customer: CustomerData | None, source_event_id: str, now: datetime
) -> dict[str, Any]:
    facts = reminder_facts(due.model_dump(), days_before_due=due.days_before_due)
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
    return decided_status(row, verdict(customer, choice.channel))


def decided_status(row: dict[str, Any], decision: Decision) -> tuple[str, str | None]:
    """The status and reason of a message the contact rules decided on; a deferred one gets its `send_after`."""
    if decision.allowed:
        return QUEUED, None
    if decision.until is None:
        return SUPPRESSED, decision.rule.value if decision.rule else "refused"
    row["send_after"] = decision.until
    return DEFERRED, decision.rule.value if decision.rule else None
