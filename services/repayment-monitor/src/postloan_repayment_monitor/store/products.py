"""Products SQL: product rows by code, pages of them, and the upsert of one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_repayment_monitor.store.tables import products


async def product_rows(session: AsyncSession, *, codes: Iterable[str]) -> list[Any]:
    """The rows of those of `codes` that are configured."""
    return list((await session.execute(select(products).where(products.c.code.in_(set(codes))))).all())


async def product_row(session: AsyncSession, *, code: str, lock: bool = False) -> Any:
    """The product's row (locked FOR UPDATE when `lock`), or None."""
    query = select(products).where(products.c.code == code)
    return (await session.execute(query.with_for_update() if lock else query)).first()


async def product_page(session: AsyncSession, *, after: str | None, limit: int) -> list[Any]:
    """Up to `limit` product rows by code, after `after`."""
    query = select(products).order_by(products.c.code).limit(limit)
    if after is not None:
        query = query.where(products.c.code > after)
    return list((await session.execute(query)).all())


async def upsert_product(session: AsyncSession, *, code: str, values: dict[str, Any], actor: str) -> None:
    """Insert or replace the product's stored rules, stamped with who changed them."""
    stamped = {**values, "updated_at": func.now(), "updated_by": actor}
    await session.execute(
        insert(products)
        .values(code=code, **stamped)
        .on_conflict_do_update(index_elements=[products.c.code], set_=stamped)
    )
