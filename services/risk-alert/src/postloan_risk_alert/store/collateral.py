"""Collateral rows, valuations and loan links in SQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.store.rows import row_by_key
from postloan_risk_alert.store.tables import collateral, collateral_links, collateral_valuations, loan_features


async def get(session: AsyncSession, collateral_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    """One collateral row, or None."""
    return await row_by_key(session, collateral.c.collateral_id, collateral_id, for_update=for_update)


async def valuations(session: AsyncSession, collateral_id: str) -> list[dict[str, Any]]:
    """The valuation history, oldest first."""
    rows = await session.execute(
        select(collateral_valuations.c.valued_on, collateral_valuations.c.value, collateral_valuations.c.valuer)
        .where(collateral_valuations.c.collateral_id == collateral_id)
        .order_by(collateral_valuations.c.valued_on)
    )
    return [dict(r._mapping) for r in rows]


async def links(session: AsyncSession, collateral_id: str) -> list[dict[str, Any]]:
    """The loans a collateral secures."""
    rows = await session.execute(
        select(collateral_links.c.loan_id, collateral_links.c.allocated_value)
        .where(collateral_links.c.collateral_id == collateral_id)
        .order_by(collateral_links.c.loan_id)
    )
    return [dict(r._mapping) for r in rows]


async def of_customer(session: AsyncSession, customer_id: str) -> list[dict[str, Any]]:
    """A customer's collateral by id."""
    rows = await session.execute(
        select(collateral).where(collateral.c.customer_id == customer_id).order_by(collateral.c.collateral_id)
    )
    return [dict(r._mapping) for r in rows]


async def customer_known(session: AsyncSession, customer_id: str) -> bool:
    """Whether risk-alert knows the customer (it has a loan here)."""
    found = await session.execute(
        select(loan_features.c.loan_id).where(loan_features.c.customer_id == customer_id).limit(1)
    )
    return found.first() is not None


async def loan(session: AsyncSession, loan_id: str) -> dict[str, Any] | None:
    """A loan's customer, status and outstanding."""
    row = (
        await session.execute(
            select(loan_features.c.customer_id, loan_features.c.status, loan_features.c.outstanding).where(
                loan_features.c.loan_id == loan_id
            )
        )
    ).first()
    return dict(row._mapping) if row else None


async def of_loan(session: AsyncSession, loan_id: str) -> list[dict[str, Any]]:
    """The collateral allocated to a loan: kind, appraised allocation and haircut."""
    rows = await session.execute(
        select(
            collateral.c.kind,
            func.coalesce(collateral_links.c.allocated_value, collateral.c.value).label("appraised"),
            collateral.c.haircut,
        )
        .select_from(collateral_links.join(collateral, collateral.c.collateral_id == collateral_links.c.collateral_id))
        .where(collateral_links.c.loan_id == loan_id)
    )
    return [dict(r._mapping) for r in rows]


def total(rows: list[dict[str, Any]], key: str) -> Decimal:
    """The sum of a money column."""
    return sum((Decimal(r[key]) for r in rows), Decimal(0))
