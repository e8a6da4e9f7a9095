"""Fund-use policies per loan purpose: the stored one or the defaults, and audited replacement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.audit import changes
from postloan_risk_alert.domain import fund_use
from postloan_risk_alert.service import audit
from postloan_risk_alert.store import fund_flows as store


@dataclass(frozen=True)
class StoredPolicy:
    purpose: str
    policy: fund_use.Policy
    version: int  # 0: the defaults, never set
    updated_by: str | None = None
    updated_at: datetime | None = None


async def get_policy(session: AsyncSession, *, purpose: str) -> StoredPolicy:
    """The purpose's policy as set, or its defaults."""
    row = await store.select_policy(session, purpose)
    if row is None:
        return StoredPolicy(purpose, fund_use.default_policy(purpose), 0)
    return StoredPolicy(
        purpose, fund_use.policy_from_json(row["policy"]), row["version"], row["updated_by"], row["updated_at"]
    )


async def put_policy(
    session: AsyncSession, *, purpose: str, policy: fund_use.Policy, actor: str, correlation_id: str | None
) -> StoredPolicy:
    """Replace the purpose's policy (its version goes up) and audit the change."""
    values = fund_use.policy_to_json(policy)
    before = await get_policy(session, purpose=purpose)
    row = await store.upsert_policy(session, purpose=purpose, policy=values, actor=actor)
    diff = changes(
        {"version": before.version, **fund_use.policy_to_json(before.policy)}, {"version": row["version"], **values}
    )
    await audit.record(
        session,
        actor=actor,
        action="fund_use_policy.update",
        subject=purpose,
        details={"policy": values, "version": row["version"], "changes": diff},
        correlation_id=correlation_id,
    )
    return StoredPolicy(purpose, policy, row["version"], row["updated_by"], row["updated_at"])
