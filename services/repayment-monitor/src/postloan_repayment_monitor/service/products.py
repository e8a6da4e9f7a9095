"""Product rules from the products table, with the platform defaults (docs/domain.md) for unknown products."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.audit import changes
from postloan_repayment_monitor.domain.rules import Component, Overpayment, ProductRules, Waterfall
from postloan_repayment_monitor.service import audit
from postloan_repayment_monitor.service.holidays import reshift_product
from postloan_repayment_monitor.store import products as store


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
    rows = await store.product_rows(session, codes=wanted)
    found = {row.code: rules_from_row(row) for row in rows}
    return {code: found.get(code, ProductRules()) for code in wanted}


def loan_rules(product: ProductRules, *, penalty_rate: Decimal, grace_days: int) -> ProductRules:
    """The product's rules with the loan's contracted penalty rate and grace period."""
    return replace(product, penalty_annual_rate=penalty_rate, grace_days=grace_days)


class InvalidProduct(ValueError):
    """A product configuration the domain refuses; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def build_rules(
    *,
    waterfall: str,
    component_order: Sequence[str],
    penalty_annual_rate: Decimal | None,
    penalty_multiplier: Decimal,
    grace_days: int,
    overpayment: str,
    due_offsets: Sequence[int],
) -> ProductRules:
    """ProductRules from plain values; raises InvalidProduct naming the first field the domain refuses."""
    values: dict[str, Any] = {}
    for name, convert in (
        ("waterfall", lambda: Waterfall(waterfall)),
        ("component_order", lambda: tuple(Component(c) for c in component_order)),
        ("penalty_annual_rate", lambda: penalty_annual_rate),
        ("penalty_multiplier", lambda: penalty_multiplier),
        ("grace_days", lambda: grace_days),
        ("overpayment", lambda: Overpayment(overpayment)),
        ("due_offsets", lambda: tuple(due_offsets)),
    ):
        # One field at a time over the defaults, so a refusal is pinned on the field that caused it.
        try:
            values[name] = convert()
            ProductRules(**{name: values[name]})
        except ValueError as exc:
            raise InvalidProduct(name, str(exc)) from exc
    if len(set(values["due_offsets"])) != len(values["due_offsets"]):
        raise InvalidProduct("due_offsets", "offsets must be distinct")
    return ProductRules(**values)


def product_view(code: str, row: Any | None) -> dict[str, Any]:
    """The API view of a product: its row, or the platform defaults with configured=False."""
    rules = rules_from_row(row) if row is not None else ProductRules()
    shift_due_dates = bool(row.shift_due_dates) if row is not None else False
    return {
        "code": code,
        "configured": row is not None,
        **_stored(rules, shift_due_dates),
        "updated_at": row.updated_at if row is not None else None,
        "updated_by": row.updated_by if row is not None else None,
    }


async def get_product(session: AsyncSession, *, code: str) -> dict[str, Any]:
    """One product's view (defaults when it has no row)."""
    row = await store.product_row(session, code=code)
    return product_view(code, row)


async def list_products(
    session: AsyncSession, *, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Configured products by code after `after`; the last code of the page when there is more."""
    rows = await store.product_page(session, after=after, limit=limit + 1)
    items = [product_view(row.code, row) for row in rows[:limit]]
    return items, rows[limit - 1].code if len(rows) > limit else None


def _stored(rules: ProductRules, shift_due_dates: bool) -> dict[str, Any]:
    return {
        "waterfall": rules.waterfall.value,
        "component_order": [c.value for c in rules.component_order],
        "penalty_annual_rate": rules.penalty_annual_rate,
        "penalty_multiplier": rules.penalty_multiplier,
        "grace_days": rules.grace_days,
        "overpayment": rules.overpayment.value,
        "due_offsets": list(rules.due_offsets),
        "shift_due_dates": shift_due_dates,
    }


def _audit_form(values: dict[str, Any]) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()}


async def put_product(
    session: AsyncSession,
    *,
    code: str,
    rules: ProductRules,
    shift_due_dates: bool,
    business_date: date,
    weekend: frozenset[int],
    actor: str,
    correlation_id: str | None,
) -> tuple[dict[str, Any], bool]:
    """Upsert the product in the caller's transaction and audit the change; (view, created).

    A change of shift_due_dates re-shifts the not yet due installments of the product's loans
    (service.holidays); the caller holds the business date FOR UPDATE.
    """
    old_row = await store.product_row(session, code=code, lock=True)
    old = _stored(rules_from_row(old_row), bool(old_row.shift_due_dates)) if old_row is not None else None
    new = _stored(rules, shift_due_dates)
    if old != new:
        await store.upsert_product(session, code=code, values=new, actor=actor)
        details: dict[str, Any] = {
            "old": _audit_form(old) if old else None,
            "new": _audit_form(new),
            "changes": changes(old, new),
        }
        if shift_due_dates != (old is not None and old["shift_due_dates"]):
            details["reshifted"] = await reshift_product(
                session, product=code, business_date=business_date, weekend=weekend
            )
        await audit.record(
            session, actor=actor, action="product.put", subject=code, details=details, correlation_id=correlation_id
        )
    return await get_product(session, code=code), old_row is None
