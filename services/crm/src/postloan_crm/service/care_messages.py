"""Care touchpoints sent as messages (birthday, maturity, hardship follow-up) where the customer consented."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.envelope import new_event_id
from postloan_crm.domain.channels import choose_channel
from postloan_crm.domain.templates import CARE_KINDS, render_care
from postloan_crm.service.customers import care_consented, collection_consents, load_customer, recipients
from postloan_crm.store import reminders as reminder_rows

KIND = "care"


async def plan_care_message(
    session: AsyncSession, *, customer_id: str, kind: str, due_on: date, loan_id: str | None
) -> bool:
    """Queue the touchpoint's message for its day when the customer agreed to care messages; return whether queued."""
    customer = await load_customer(session, customer_id)
    if kind not in CARE_KINDS or customer is None or not care_consented(customer):
        return False
    choice = choose_channel(
        preferred=customer.preferred_channel, consents=collection_consents(customer), recipients=recipients(customer)
    )
    if choice.channel is None:
        return False
    message = render_care(kind, loan_id=loan_id, language=customer.language)
    row = {
        "communication_id": str(new_event_id()),
        "customer_id": customer_id,
        "loan_id": loan_id,
        "kind": KIND,
        "channel": choice.channel,
        "recipient": choice.recipient,
        "template": message.template,
        "language": message.language,
        "subject": message.subject,
        "body": message.body,
        # Once per touchpoint; sent from the start of its day (the sender defers it past quiet hours).
        "source_event_id": f"care:{customer_id}:{kind}:{due_on.isoformat()}",
        "send_after": datetime.combine(due_on, time(0), tzinfo=UTC),
        "status": "queued",
        "was_deferred": False,
    }
    await reminder_rows.insert_communications(session, [row])
    return True
