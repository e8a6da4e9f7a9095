"""Sending the reminders that are due: re-check each against consent and the contact policy, then deliver."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.contracts import ReminderSentV1
from postloan_common.logging import get_logger
from postloan_crm.adapters.channels import ChannelSender, Outgoing, SendError
from postloan_crm.domain.channels import choose_channel
from postloan_crm.domain.contact_policy import (
    Rule,
)
from postloan_crm.domain.dunning import dunning_channel, stop_reason
from postloan_crm.domain.templates import render_reminder, template_name
from postloan_crm.service.contact_checks import policy_decision
from postloan_crm.service.customers import (
    CustomerData,
    care_consented,
    collection_consents,
    load_customer,
    recipients,
)
from postloan_crm.service.events import Trace, emit
from postloan_crm.service.reminders import (
    AWAITING_CUSTOMER,
    CUSTOMER_GRACE,
    CUSTOMER_RETRY,
    DEFERRED,
    FAILED,
    QUEUED,
    SENT,
    SUPPRESSED,
    reminder_facts,
)
from postloan_crm.store import communications as communication_rows
from postloan_crm.store import dunning as dunning_rows

log = get_logger(__name__)
DUNNING = "dunning"
CARE = "care"


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
        rows = await communication_rows.lock_due(session, statuses=(QUEUED, DEFERRED), now=now, limit=batch_size)
        for row in rows:
            outcome = await _send_one(
                session,
                row=row,
                senders=senders,
                now=now,
                max_attempts=max_attempts,
                retry_after=retry_after,
                customer_retry=customer_retry,
            )
            counts[outcome] += 1
    return SendReport(**counts)


async def _suppress(session: AsyncSession, communication_id: str, reason: str) -> str:
    await communication_rows.change(session, communication_id, status=SUPPRESSED, reason=reason)
    return "suppressed"


async def _defer(session: AsyncSession, communication_id: str, *, until: datetime, reason: str | None) -> None:
    await communication_rows.change(
        session, communication_id, status=DEFERRED, reason=reason, send_after=until, was_deferred=True
    )


async def _readdress(
    session: AsyncSession, *, row: Mapping[str, Any], customer: CustomerData, channel: str, recipient: str
) -> dict[str, Any]:
    """Point the stored communication at the channel chosen now, in the customer's language."""
    changes: dict[str, Any] = {}
    if (row["channel"], row["recipient"]) != (channel, recipient):
        changes.update(channel=channel, recipient=recipient)
    if row["language"] != customer.language and row["installment_seq"] is not None:
        days_before_due = 0 if row["template"] == template_name(0) else 1
        message = render_reminder(reminder_facts(row, days_before_due=days_before_due), language=customer.language)
        changes.update(language=message.language, subject=message.subject, body=message.body)
    if changes:
        await communication_rows.change(session, str(row["communication_id"]), **changes)
    return dict(row) | changes


async def suppression_reason(session: AsyncSession, row: Mapping[str, Any]) -> str | None:
    """Why the reminder should not go out any more (paid, loan closed; for dunning a promise active), or None."""
    if row["kind"] == CARE:
        return None  # a maturity note goes out after the loan closed, too
    if row["kind"] == DUNNING and row["loan_id"] is not None:
        state = await dunning_rows.loan_stop_state(session, row["loan_id"])
        if state is not None:
            return stop_reason(**state)
    if row["loan_id"] is not None:
        status = await communication_rows.loan_status(session, row["loan_id"])
        if status is not None and status != "active":
            return "loan_closed"
    seq = row["installment_seq"]
    if seq is not None and await communication_rows.installment_paid(session, loan_id=row["loan_id"], seq=seq):
        return "installment_paid"
    return None


def _channel(row: Mapping[str, Any], customer: CustomerData) -> tuple[str | None, str | None, str | None]:
    """(channel, recipient, why none): a dunning step keeps its channel while it may; a reminder goes as preferred."""
    consents, reach = collection_consents(customer), recipients(customer)
    if row["kind"] == DUNNING:
        return (*dunning_channel(str(row["channel"] or "sms"), consents=consents, recipients=reach), None)
    choice = choose_channel(preferred=customer.preferred_channel, consents=consents, recipients=reach)
    return choice.channel, choice.recipient, choice.reason


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
    if row["kind"] == CARE and not care_consented(customer):
        return await _suppress(session, communication_id, "no_care_consent")
    # Consents and contact points may have changed since planning: choose again, fall back if need be.
    chosen, recipient, why = _channel(row, customer)
    if chosen is None or recipient is None:
        return await _suppress(session, communication_id, why or "no_contact_point")
    channel = chosen
    row = await _readdress(session, row=row, customer=customer, channel=channel, recipient=recipient)
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
        await communication_rows.change(
            session,
            communication_id,
            status=FAILED if final else QUEUED,
            attempts=attempts,
            last_error=str(exc)[:2000],
            reason="provider_error" if final else None,
            send_after=now if final else now + retry_after,
        )
        return "failed" if final else "retry"
    await communication_rows.change(
        session,
        communication_id,
        status=SENT,
        attempts=attempts,
        sent_at=now,
        provider_message_id=provider_id,
        reason=None,
        last_error=None,
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
