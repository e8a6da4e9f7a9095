"""SQL of customers: their rows, contact points, consents and related parties, read and written in batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Select, String, Table, delete, func, insert, literal, literal_column, null, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.store.tables import consents, contact_points, customers, related_parties

# Kept from the stored row when a record does not say them (core banking does not know them).
_KEPT = ("preferred_channel", "address")


async def upsert_customer_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert or replace customers' rows (a None preferred channel or address keeps the stored one); return new ids."""
    if not rows:
        return set()
    values = [r | {"address": null() if r["address"] is None else r["address"]} for r in rows]
    stmt = pg_insert(customers).values(values)
    replaced = {name: stmt.excluded[name] for name in values[0] if name != "customer_id" and name not in _KEPT}
    stmt = stmt.on_conflict_do_update(
        index_elements=[customers.c.customer_id],
        set_=replaced
        | {name: func.coalesce(stmt.excluded[name], customers.c[name]) for name in _KEPT}
        | {"updated_at": func.now()},
    )
    # xmax is 0 only on a row this statement inserted.
    returned = await session.execute(stmt.returning(customers.c.customer_id, literal_column("(xmax = 0)")))
    return {customer_id for customer_id, new in returned if new}


async def _replace_customers_rows(
    session: AsyncSession, table: Table, *, customer_ids: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    await session.execute(delete(table).where(table.c.customer_id.in_(list(customer_ids))))
    if rows:
        await session.execute(insert(table), list(rows))


async def replace_contact_points(
    session: AsyncSession, *, customer_ids: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Replace the customers' contact points by `rows`."""
    await _replace_customers_rows(session, contact_points, customer_ids=customer_ids, rows=rows)


async def replace_related_parties(
    session: AsyncSession, *, customer_ids: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Replace the customers' related parties by `rows`."""
    await _replace_customers_rows(session, related_parties, customer_ids=customer_ids, rows=rows)


async def upsert_consents(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Record consents, one row per (customer, channel, purpose); the latest wins."""
    if not rows:
        return
    stmt = pg_insert(consents)
    stmt = stmt.on_conflict_do_update(
        constraint="pk_consents",
        set_={"granted": stmt.excluded.granted, "recorded_on": stmt.excluded.recorded_on, "updated_at": func.now()},
    )
    await session.execute(stmt, list(rows))


def _joined_to_keys(table: Table, column: Column[Any], keys: Sequence[str]) -> Select[Any]:
    """Rows of `table` whose `column` is one of `keys`, probing the index once per key."""
    listed = func.unnest(literal(list(keys), ARRAY(String))).table_valued("key").render_derived(name="k")
    return select(table).select_from(listed.join(table, column == listed.c.key))


async def customer_rows(session: AsyncSession, ids: Sequence[str], *, lock: bool = False) -> list[dict[str, Any]]:
    """The customers' rows in id order, locked when asked."""
    query = _joined_to_keys(customers, customers.c.customer_id, ids).order_by(customers.c.customer_id)
    if lock:
        query = query.with_for_update(of=customers)
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def contact_point_rows(session: AsyncSession, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The customers' contact points, in customer, kind and position order."""
    query = _joined_to_keys(contact_points, contact_points.c.customer_id, ids).order_by(
        contact_points.c.customer_id, contact_points.c.kind, contact_points.c.position
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def consent_rows(session: AsyncSession, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The customers' consents, in customer, channel and purpose order."""
    query = _joined_to_keys(consents, consents.c.customer_id, ids).order_by(
        consents.c.customer_id, consents.c.channel, consents.c.purpose
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def related_party_rows(session: AsyncSession, ids: Sequence[str]) -> list[dict[str, Any]]:
    """The customers' related parties in the order they were recorded."""
    query = _joined_to_keys(related_parties, related_parties.c.customer_id, ids).order_by(related_parties.c.id)
    return [dict(r) for r in (await session.execute(query)).mappings()]
