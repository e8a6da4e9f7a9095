"""The contact policy's verdict on one contact: read the customer's recent contacts, then decide."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.domain.channels import opted_out
from postloan_crm.domain.contact_policy import (
    DEFAULT_JURISDICTION,
    ContactPolicy,
    Counting,
    Decision,
    PastContact,
    evaluate,
    policy_for,
)
from postloan_crm.service.customers import (
    CustomerData,
    collection_consents,
)
from postloan_crm.service.policies import contact_history, load_policies


async def policy_decision(
    session: AsyncSession, *, customer: CustomerData, channel: str, now: datetime, connected: bool = True
) -> Decision:
    """The contact policy's verdict on contacting `customer` on `channel` at `now`.

    Under a cap on connected contacts, an attempt that did not connect is not counted (`connected=False`).
    """
    policies = await load_policies(session)
    policy = policy_for(policies, jurisdiction=customer.jurisdiction or DEFAULT_JURISDICTION, channel=channel)
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
    policy = policy_for(policies, jurisdiction=customer.jurisdiction or DEFAULT_JURISDICTION, channel=channel)
    since = now - timedelta(days=history_days(policy) + 1)
    return evaluate(
        policy,
        timezone=customer.timezone,
        now=now,
        history=[c for c in history if c.at > since],
        opted_out=opted_out(collection_consents(customer), channel),
        counts=connected or policy.counting is Counting.ATTEMPTS,
    )
