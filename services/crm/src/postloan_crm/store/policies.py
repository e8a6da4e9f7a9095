"""SQL of the contact policy and of the contacts it counts (calls logged, messages sent)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.keyed import replace_keyed_rows
from postloan_crm.store.tables import communications, contact_policies, interactions


async def policy_rows(session: AsyncSession) -> list[dict[str, Any]]:
    """The stored policy rows (overrides of the defaults)."""
    return [dict(r) for r in (await session.execute(select(contact_policies))).mappings()]


async def replace_policy_rows(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Replace the stored rows of the rows' (jurisdiction, channel) pairs."""
    await replace_keyed_rows(session, contact_policies, rows, key=("jurisdiction", "channel"))


def _listed(customer_ids: Sequence[str]) -> Any:
    return func.unnest(literal(list(customer_ids), ARRAY(String))).table_valued("customer_id").render_derived(name="k")


async def outbound_calls(
    session: AsyncSession, *, customer_ids: Sequence[str], channels: Sequence[str], since: datetime
) -> list[tuple[str, str, datetime, bool]]:
    """(customer, channel, when, connected) of outbound calls to the debtors after `since`."""
    listed = _listed(customer_ids)
    calls = await session.execute(
        select(interactions.c.customer_id, interactions.c.channel, interactions.c.occurred_at, interactions.c.connected)
        .select_from(listed.join(interactions, interactions.c.customer_id == listed.c.customer_id))
        .where(
            interactions.c.channel.in_(list(channels)),
            interactions.c.direction == "outbound",
            interactions.c.party == "debtor",
            interactions.c.occurred_at > since,
        )
    )
    return [(c, ch, at, connected) for c, ch, at, connected in calls]


async def sent_messages(
    session: AsyncSession, *, customer_ids: Sequence[str], channels: Sequence[str], since: datetime
) -> list[tuple[str, str, datetime]]:
    """(customer, channel, when) of messages sent to the customers after `since`."""
    listed = _listed(customer_ids)
    sent = await session.execute(
        select(communications.c.customer_id, communications.c.channel, communications.c.sent_at)
        .select_from(listed.join(communications, communications.c.customer_id == listed.c.customer_id))
        .where(
            communications.c.channel.in_(list(channels)),
            communications.c.status == "sent",
            communications.c.sent_at > since,
        )
    )
    return [(c, ch, at) for c, ch, at in sent]
