"""The contact policy in force: stored rows override the defaults of docs/domain.md per (jurisdiction, channel)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import String, delete, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.domain.contact_policy import ContactPolicy, Counting, PastContact, default_policies, is_phone
from postloan_crm.store.tables import communications, contact_policies, interactions


async def load_policies(session: AsyncSession) -> list[ContactPolicy]:
    """Every policy in force."""
    merged = {(p.jurisdiction, p.channel): p for p in default_policies()}
    for row in (await session.execute(select(contact_policies))).mappings():
        merged[(row["jurisdiction"], row["channel"])] = ContactPolicy(
            jurisdiction=row["jurisdiction"],
            channel=row["channel"],
            quiet_start=row["quiet_start"],
            quiet_end=row["quiet_end"],
            max_per_day=row["max_per_day"],
            max_per_window=row["max_per_window"],
            window_days=row["window_days"],
            counting=Counting(row["counting"]),
        )
    return sorted(merged.values(), key=lambda p: (p.jurisdiction, p.channel))


async def replace_policies(session: AsyncSession, *, policies: Sequence[ContactPolicy], actor: str) -> None:
    """Store the given policies (the others keep their current value)."""
    keys = [(p.jurisdiction, p.channel) for p in policies]
    for jurisdiction, channel in keys:
        await session.execute(
            delete(contact_policies).where(
                contact_policies.c.jurisdiction == jurisdiction, contact_policies.c.channel == channel
            )
        )
    if policies:
        await session.execute(
            insert(contact_policies),
            [
                {
                    "jurisdiction": p.jurisdiction,
                    "channel": p.channel,
                    "quiet_start": p.quiet_start,
                    "quiet_end": p.quiet_end,
                    "max_per_day": p.max_per_day,
                    "max_per_window": p.max_per_window,
                    "window_days": p.window_days,
                    "counting": p.counting.value,
                    "updated_by": actor,
                }
                for p in policies
            ],
        )


async def contact_history(
    session: AsyncSession, *, customer_id: str, channel: str, now: datetime, days: int
) -> list[PastContact]:
    """Past contacts with the debtor on `channel` in the last `days` days (calls logged, messages sent)."""
    histories = await contact_histories(session, customer_ids=[customer_id], channels=[channel], now=now, days=days)
    return histories.get((customer_id, channel), [])


async def contact_histories(
    session: AsyncSession, *, customer_ids: Iterable[str], channels: Iterable[str], now: datetime, days: int
) -> dict[tuple[str, str], list[PastContact]]:
    """Per (customer, channel): past contacts with the debtor in the last `days` days (calls logged, messages sent)."""
    since = now - timedelta(days=days + 1)
    ids = sorted(set(customer_ids))
    wanted = set(channels)
    phones = sorted(c for c in wanted if is_phone(c))
    messages = sorted(c for c in wanted if not is_phone(c))
    found: dict[tuple[str, str], list[PastContact]] = defaultdict(list)
    if not ids:
        return found
    listed = func.unnest(literal(ids, ARRAY(String))).table_valued("customer_id").render_derived(name="k")
    if phones:
        calls = await session.execute(
            select(
                interactions.c.customer_id, interactions.c.channel, interactions.c.occurred_at, interactions.c.connected
            )
            .select_from(listed.join(interactions, interactions.c.customer_id == listed.c.customer_id))
            .where(
                interactions.c.channel.in_(phones),
                interactions.c.direction == "outbound",
                interactions.c.party == "debtor",
                interactions.c.occurred_at > since,
            )
        )
        for customer_id, channel, at, connected in calls:
            found[(customer_id, channel)].append(PastContact(at, connected))
    if messages:
        sent = await session.execute(
            select(communications.c.customer_id, communications.c.channel, communications.c.sent_at)
            .select_from(listed.join(communications, communications.c.customer_id == listed.c.customer_id))
            .where(
                communications.c.channel.in_(messages),
                communications.c.status == "sent",
                communications.c.sent_at > since,
            )
        )
        for customer_id, channel, at in sent:
            found[(customer_id, channel)].append(PastContact(at, True))
    return found
