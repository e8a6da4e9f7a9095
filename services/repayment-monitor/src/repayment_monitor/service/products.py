"""Product rules from the products table, with the DOMAIN defaults for unknown products."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from repayment_monitor.domain.rules import Component, Overpayment, ProductRules, Waterfall
from repayment_monitor.store.tables import products


def rules_from_row(row: Any) -> ProductRules:
    """Build ProductRules from a products row."""
    return ProductRules(
        waterfall=Waterfall(row.waterfall),
        component_order=tuple(Component(c) for c in row.component_order),
        penalty_annual_rate=row.penalty_annual_rate,
        penalty_multiplier=row.penalty_multiplier,
        grace_days=row.grace_days,
        overpayment=Overpayment(row.overpayment),
        due_offsets=tuple(row.due_offsets),
    )


async def load_rules(session: AsyncSession, codes: Iterable[str]) -> dict[str, ProductRules]:
    """Rules for each product code; products without a row get the defaults."""
    wanted = set(codes)
    rows = (await session.execute(select(products).where(products.c.code.in_(wanted)))).all()
    found = {row.code: rules_from_row(row) for row in rows}
    return {code: found.get(code, ProductRules()) for code in wanted}


def loan_rules(product: ProductRules, *, penalty_rate: Decimal, grace_days: int) -> ProductRules:
    """The product's rules with the loan's contracted penalty rate and grace period."""
    return replace(product, penalty_annual_rate=penalty_rate, grace_days=grace_days)
