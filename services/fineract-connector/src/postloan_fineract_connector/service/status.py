"""What the connector has seen: counts per Fineract event type, mapped ids, supported schemas."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_fineract_connector.store import queries
from postloan_fineract_connector.store.schemas import load_store


@dataclass(frozen=True)
class Status:
    counts: list[queries.TypeCount]
    mapped_ids: dict[str, int]
    schemas: list[tuple[str, str, int]]


async def status(session: AsyncSession) -> Status:
    """The connector's status: per-type counts, mapped ids and the schema store."""
    store = load_store()
    schemas = sorted((s.name, s.release, s.fingerprint) for s in store.by_fingerprint.values())
    return Status(await queries.type_counts(session), await queries.mapped_ids(session), schemas)
