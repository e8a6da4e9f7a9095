"""Reminders: planned on payment-due under the contact policy, sent when due, suppressed when moot."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.contracts import PaymentDueV1, ReminderSentV1
from postloan_common.logging import get_logger
from postloan_common.messaging.envelope import new_event_id
from postloan_crm.adapters.channels import ChannelSender, Outgoing, SendError
from postloan_crm.domain.channels import REMINDER_CHANNELS, choose_channel, opted_out
from postloan_crm.domain.contact_policy import (
    ContactPolicy,
    Counting,
    Decision,
    PastContact,
    Rule,
    evaluate,
    policy_for,
)
from postloan_crm.domain.templates import ReminderFacts, render_reminder, template_name
from postloan_crm.service.customers import (
    CustomerData,
    collection_consents,
    load_customer,
    load_customers,
    recipients,
)
from postloan_crm.service.events import Trace, emit
from postloan_crm.service.policies import contact_histories, contact_history, load_policies
from postloan_crm.store.tables import communications, installments_due, loans

log = get_logger(__name__)

QUEUED, DEFERRED, SENT, FAILED, SUPPRESSED = "queued", "deferred", "sent", "failed", "suppressed"
AWAITING_CUSTOMER = "awaiting_customer"
# How long a reminder waits for its customer's record before it is given up.
CUSTOMER_GRACE = timedelta(hours=1)
CUSTOMER_RETRY = timedelta(minutes=1)


async def policy_decision(
    session: AsyncSession, *, customer: CustomerData, channel: str, now: datetime, connected: bool = True
) -> Decision:
    """The contact policy's verdict on contacting `customer` on `channel` at `now`.

    Under a cap on connected contacts, an attempt that did not connect is not counted (`connected=False`).
    """
    policies = await load_policies(session)
    policy = policy_for(policies, jurisdiction=customer.jurisdiction or "CN", channel=channel)
    history = await contact_history(
        session, customer_id=customer.customer_id, channel=channel, now=now, days=history_days(policy)
    )
    return decide(policies, customer=customer, channel=channel, now=now, history=history, connected=connected)


def history_days(policy: ContactPolicy) -> int:
    """How many days of past contacts the policy's caps look at."""
    return max(policy.window_days, 1)


def decide(
    policies: Sequence[ContactPolicy],
    *,
    customer: CustomerData,
    channel: str,
    now: datetime,
    history: Iterable[PastContact],
    connected: bool = True,
) -> Decision:
    """The contact policy's verdict given the contacts with the customer on `channel` (any longer past is ignored)."""
    policy = policy_for(policies, jurisdiction=customer.jurisdiction or "CN", channel=channel)
    since = now - timedelta(days=history_days(policy) + 1)
    return evaluate(
        policy,
        timezone=customer.timezone,
        now=now,
        history=[c for c in history if c.at > since],
        opted_out=opted_out(collection_consents(customer), channel),
        counts=connected or policy.counting is Counting.ATTEMPTS,
    )


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


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int = 0
    deferred: int = 0
    suppressed: int = 0
    failed: int = 0
    retry: int = 0


async def send_due(
    sessions: async_sessionmaker[AsyncSession],
    *,
    senders: Mapping[str, ChannelSender],
    now: datetime,
    batch_size: int = 50,
    max_attempts: int = 5,
    retry_after: timedelta = timedelta(minutes=5),
    customer_retry: timedelta = CUSTOMER_RETRY,
) -> SendReport:
    """Send the communications whose time has come, once each even with several senders running."""
    counts = {"sent": 0, "deferred": 0, "suppressed": 0, "failed": 0, "retry": 0}
    async with sessions.begin() as session:
        rows = (
            (
                await session.execute(
                    select(communications)
                    .where(communications.c.status.in_((QUEUED, DEFERRED)), communications.c.send_after <= now)
                    .order_by(communications.c.send_after, communications.c.communication_id)
                    .limit(batch_size)
                    .with_for_update(skip_locked=True)
                )
            )
            .mappings()
            .all()
        )
        for row in rows:
            outcome = await _send_one(
                session,
                row=dict(row),
                senders=senders,
                now=now,
                max_attempts=max_attempts,
                retry_after=retry_after,
                customer_retry=customer_retry,
            )
            counts[outcome] += 1
    return SendReport(**counts)


async def _suppress(session: AsyncSession, communication_id: str, reason: str) -> str:
    await session.execute(
        update(communications)
        .where(communications.c.communication_id == communication_id)
        .values(status=SUPPRESSED, reason=reason, updated_at=func.now())
    )
    return "suppressed"


async def _defer(session: AsyncSession, communication_id: str, *, until: datetime, reason: str | None) -> None:
    await session.execute(
        update(communications)
        .where(communications.c.communication_id == communication_id)
        .values(status=DEFERRED, reason=reason, send_after=until, was_deferred=True, updated_at=func.now())
    )


async def _readdress(
    session: AsyncSession, *, row: Mapping[str, Any], customer: CustomerData, channel: str, recipient: str
) -> dict[str, Any]:
    """Point the stored communication at the channel chosen now, in the customer's language."""
    changes: dict[str, Any] = {}
    if (row["channel"], row["recipient"]) != (channel, recipient):
        changes.update(channel=channel, recipient=recipient)
    if row["language"] != customer.language and row["installment_seq"] is not None:
        message = render_reminder(
            ReminderFacts(
                loan_id=row["loan_id"],
                installment_seq=row["installment_seq"],
                amount=row["amount_due"],
                currency=row["currency"],
                due_date=row["due_date"],
                payment_reference=row["payment_reference"],
                days_before_due=0 if row["template"] == template_name(0) else 1,
            ),
            language=customer.language,
        )
        changes.update(language=message.language, subject=message.subject, body=message.body)
    if changes:
        await session.execute(
            update(communications)
            .where(communications.c.communication_id == row["communication_id"])
            .values(**changes, updated_at=func.now())
        )
    return dict(row) | changes


async def suppression_reason(session: AsyncSession, row: Mapping[str, Any]) -> str | None:
    """Why the reminder should not go out any more (paid, loan closed), or None."""
    if row["loan_id"] is not None:
        status = await session.scalar(select(loans.c.status).where(loans.c.loan_id == row["loan_id"]))
        if status is not None and status != "active":
            return "loan_closed"
    if row["installment_seq"] is not None:
        paid = await session.scalar(
            select(installments_due.c.seq).where(
                installments_due.c.loan_id == row["loan_id"],
                installments_due.c.seq == row["installment_seq"],
                or_(
                    installments_due.c.paid_on.is_not(None),
                    installments_due.c.amount_paid >= installments_due.c.amount_due,
                ),
            )
        )
        if paid is not None:
            return "installment_paid"
    return None


async def _send_one(
    session: AsyncSession,
    *,
    row: Mapping[str, Any],
    senders: Mapping[str, ChannelSender],
    now: datetime,
    max_attempts: int,
    retry_after: timedelta,
    customer_retry: timedelta,
) -> str:
    communication_id = str(row["communication_id"])
    reason = await suppression_reason(session, row)
    if reason is not None:
        return await _suppress(session, communication_id, reason)
    customer = await load_customer(session, str(row["customer_id"]))
    if customer is None:
        if row["created_at"] > now - CUSTOMER_GRACE:
            await _defer(session, communication_id, until=now + customer_retry, reason=AWAITING_CUSTOMER)
            return "deferred"
        return await _suppress(session, communication_id, "unknown_customer")
    # Consents and contact points may have changed since planning: choose again, fall back if need be.
    choice = choose_channel(
        preferred=customer.preferred_channel, consents=collection_consents(customer), recipients=recipients(customer)
    )
    if choice.channel is None or choice.recipient is None:
        return await _suppress(session, communication_id, choice.reason or "no_contact_point")
    channel = choice.channel
    row = await _readdress(session, row=row, customer=customer, channel=channel, recipient=choice.recipient)
    decision = await policy_decision(session, customer=customer, channel=channel, now=now)
    if not decision.allowed:
        if decision.until is None:
            return await _suppress(session, communication_id, (decision.rule or Rule.OPT_OUT).value)
        await _defer(
            session, communication_id, until=decision.until, reason=decision.rule.value if decision.rule else None
        )
        return "deferred"
    sender = senders.get(channel)
    if sender is None:
        return await _suppress(session, communication_id, f"no_adapter:{channel}")
    message = Outgoing(
        key=communication_id,
        channel=channel,
        recipient=str(row["recipient"]),
        subject=row["subject"] if isinstance(row["subject"], str) else None,
        body=str(row["body"]),
        language=str(row["language"]),
    )
    attempts = int(row["attempts"] or 0) + 1
    try:
        provider_id = await sender.send(message)
    except SendError as exc:
        final = not exc.retryable or attempts >= max_attempts
        log.warning("reminder not delivered", communication_id=communication_id, error=str(exc), final=final)
        await session.execute(
            update(communications)
            .where(communications.c.communication_id == communication_id)
            .values(
                status=FAILED if final else QUEUED,
                attempts=attempts,
                last_error=str(exc)[:2000],
                reason="provider_error" if final else None,
                send_after=now if final else now + retry_after,
                updated_at=func.now(),
            )
        )
        return "failed" if final else "retry"
    await session.execute(
        update(communications)
        .where(communications.c.communication_id == communication_id)
        .values(
            status=SENT,
            attempts=attempts,
            sent_at=now,
            provider_message_id=provider_id,
            reason=None,
            last_error=None,
            updated_at=func.now(),
        )
    )
    await emit(
        session,
        ReminderSentV1(
            reminder_id=communication_id,
            customer_id=customer.customer_id,
            loan_id=row["loan_id"],
            case_id=row["case_id"],
            channel=channel,
            template=str(row["template"]),
            installment_seq=row["installment_seq"],
            due_date=row["due_date"],
            amount_due=row["amount_due"],
            currency=row["currency"],
            deferred=bool(row["was_deferred"]),
        ),
        customer_id=customer.customer_id,
        trace=Trace(correlation_id=communication_id),
    )
    return "sent"


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows as column-wise lists, to bind as unnest() arrays."""
    return [list(column) for column in zip(*rows, strict=True)]
