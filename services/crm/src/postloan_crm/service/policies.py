"""The contact policy in force: stored rows override the defaults of docs/domain.md per (jurisdiction, channel)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.domain.contact_policy import ContactPolicy, Counting, PastContact, default_policies, is_phone
from postloan_crm.store.policies import outbound_calls, policy_rows, replace_policy_rows, sent_messages

_FIELDS = tuple(f.name for f in fields(ContactPolicy))


def policy_of(values: Mapping[str, Any]) -> ContactPolicy:
    """A policy from its plain values (a stored row, a request body), `counting` given by its value."""
    return ContactPolicy(**{k: values[k] for k in _FIELDS if k != "counting"}, counting=Counting(values["counting"]))


def policy_values(policy: ContactPolicy) -> dict[str, Any]:
    """The policy's plain values, as stored and shown, `counting` by its value."""
    return {k: getattr(policy, k) for k in _FIELDS} | {"counting": policy.counting.value}


async def load_policies(session: AsyncSession) -> list[ContactPolicy]:
    """Every policy in force."""
    merged = {(p.jurisdiction, p.channel): p for p in default_policies()}
    for row in await policy_rows(session):
        merged[(row["jurisdiction"], row["channel"])] = policy_of(row)
    return sorted(merged.values(), key=lambda p: (p.jurisdiction, p.channel))


async def replace_policies(session: AsyncSession, *, policies: Sequence[ContactPolicy], actor: str) -> None:
    """Store the given policies (the others keep their current value)."""
    await replace_policy_rows(
        session,
        [policy_values(p) | {"updated_by": actor} for p in policies],
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
    if phones:
        for customer_id, channel, at, connected in await outbound_calls(
            session, customer_ids=ids, channels=phones, since=since
        ):
            found[(customer_id, channel)].append(PastContact(at, connected))
    if messages:
        for customer_id, channel, at in await sent_messages(session, customer_ids=ids, channels=messages, since=since):
            found[(customer_id, channel)].append(PastContact(at, True))
    return found
