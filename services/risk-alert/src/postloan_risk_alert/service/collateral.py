"""Collateral: register, revalue, allocate to loans; per loan its value, coverage, LTV and LGD."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.domain import collateral as rules
from postloan_risk_alert.service.alerts import current_business_date
from postloan_risk_alert.service.refusals import Conflict, Invalid, NotFound
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store import collateral as store
from postloan_risk_alert.store.tables import collateral, collateral_links, collateral_valuations, loan_features

FIELDS = (
    "collateral_id",
    "customer_id",
    "kind",
    "description",
    "value",
    "currency",
    "valued_on",
    "valuer",
    "haircut",
    "lien_rank",
    "insurance_expires_on",
)


async def _not_in_future(session: AsyncSession, valued_on: date) -> None:
    if valued_on > await current_business_date(session):
        raise Invalid("body.valued_on", "a valuation date cannot be in the future")


async def view(session: AsyncSession, collateral_id: str) -> dict[str, Any]:
    """A collateral with its value after haircut, valuation history and loans."""
    row = await store.get(session, collateral_id)
    if row is None:
        raise NotFound(f"collateral {collateral_id} does not exist")
    return {
        **{k: row[k] for k in FIELDS},
        "value_after_haircut": rules.haircut_value(value=row["value"], haircut=row["haircut"]),
        "valuations": await store.valuations(session, collateral_id),
        "loans": await store.links(session, collateral_id),
    }


async def register(session: AsyncSession, *, item: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Register a collateral; the same request again returns the first answer (False)."""
    if item["haircut"] is None:
        item = {**item, "haircut": rules.DEFAULT_HAIRCUT[item["kind"]]}
    existing = await store.get(session, item["collateral_id"])
    if existing is not None:
        if all(existing[k] == item[k] for k in FIELDS):
            return await view(session, item["collateral_id"]), False
        raise Conflict(f"collateral {item['collateral_id']} exists with other content")
    if not await store.customer_known(session, item["customer_id"]):
        raise NotFound(f"customer {item['customer_id']} is not known to risk-alert")
    await _not_in_future(session, item["valued_on"])
    await session.execute(insert(collateral).values(**item))
    await session.execute(
        insert(collateral_valuations).values(
            collateral_id=item["collateral_id"], valued_on=item["valued_on"], value=item["value"], valuer=item["valuer"]
        )
    )
    return await view(session, item["collateral_id"]), True


async def revalue(
    session: AsyncSession, *, collateral_id: str, value: Decimal, valued_on: date, valuer: str
) -> tuple[dict[str, Any], bool]:
    """Record a valuation (history kept); the latest one becomes the collateral's value."""
    row = await store.get(session, collateral_id, for_update=True)
    if row is None:
        raise NotFound(f"collateral {collateral_id} does not exist")
    history = {v["valued_on"]: v for v in await store.valuations(session, collateral_id)}
    if valued_on in history:
        if (history[valued_on]["value"], history[valued_on]["valuer"]) == (value, valuer):
            return await view(session, collateral_id), False
        raise Conflict(f"collateral {collateral_id} already has a different valuation on {valued_on}")
    await _not_in_future(session, valued_on)
    await session.execute(
        insert(collateral_valuations).values(
            collateral_id=collateral_id, valued_on=valued_on, value=value, valuer=valuer
        )
    )
    if valued_on >= row["valued_on"]:
        await session.execute(
            update(collateral)
            .where(collateral.c.collateral_id == collateral_id)
            .values(value=value, valued_on=valued_on, valuer=valuer, updated_at=func.now())
        )
    await _touch_loans(session, [link["loan_id"] for link in await store.links(session, collateral_id)])
    return await view(session, collateral_id), True


async def link(
    session: AsyncSession, *, collateral_id: str, loan_id: str, allocated_value: Decimal | None
) -> tuple[dict[str, Any], bool]:
    """Allocate a collateral (or part of its value) to a loan."""
    row = await store.get(session, collateral_id, for_update=True)
    if row is None:
        raise NotFound(f"collateral {collateral_id} does not exist")
    loan = await store.loan(session, loan_id)
    if loan is None:
        raise NotFound(f"loan {loan_id} is not known to risk-alert")
    existing = {x["loan_id"]: x for x in await store.links(session, collateral_id)}
    if loan_id in existing:
        if existing[loan_id]["allocated_value"] == allocated_value:
            return await view(session, collateral_id), False
        raise Conflict(f"collateral {collateral_id} is linked to {loan_id} with another allocation")
    if loan["status"] != "active":
        raise Invalid("loan_id", f"loan {loan_id} is {loan['status']}")
    if allocated_value is not None and not rules.allocation_fits(allocated=allocated_value, value=row["value"]):
        raise Invalid("body.allocated_value", "the allocation is larger than the collateral's value")
    await session.execute(
        insert(collateral_links).values(collateral_id=collateral_id, loan_id=loan_id, allocated_value=allocated_value)
    )
    await _touch_loans(session, [loan_id])
    return await view(session, collateral_id), True


async def unlink(session: AsyncSession, *, collateral_id: str, loan_id: str) -> dict[str, Any]:
    """Release a collateral from a loan."""
    deleted = await session.execute(
        delete(collateral_links).where(
            collateral_links.c.collateral_id == collateral_id, collateral_links.c.loan_id == loan_id
        )
    )
    if not deleted.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"collateral {collateral_id} does not secure loan {loan_id}")
    await _touch_loans(session, [loan_id])
    return await view(session, collateral_id)


async def _touch_loans(session: AsyncSession, loan_ids: list[str]) -> None:
    # Collateral changes the LGD and the collateral rules: re-score the loans at the next close of day.
    if loan_ids:
        await session.execute(update(loan_features).where(loan_features.c.loan_id.in_(loan_ids)).values(dirty=True))


async def of_loan(
    session: AsyncSession, *, product: str, collateral_type: str, outstanding: Decimal, loan_id: str, settings: Settings
) -> dict[str, Any]:
    """Per loan: collateral value after haircut, coverage, LTV and the LGD the ECL uses."""
    rows = await store.of_loan(session, loan_id)
    policy = settings.ifrs9_policy()
    if not rows:
        return {
            "collateral_value": Decimal(0),
            "coverage": None,
            "ltv": None,
            "lgd": policy.lgd_for(product, collateral_type),
        }
    secured = rules.secured_value((r["appraised"], r["haircut"]) for r in rows)
    loss = sum(
        float(rules.haircut_value(value=r["appraised"], haircut=r["haircut"])) * rules.secured_lgd(r["kind"])
        for r in rows
    )
    lgd = rules.blended_lgd(
        exposure=np.asarray([float(outstanding)]),
        secured_value=np.asarray([float(secured)]),
        secured_loss=np.asarray([loss]),
        unsecured_lgd=np.asarray([policy.lgd_for(product, "none")]),
    )
    return {
        "collateral_value": secured,
        "coverage": rules.coverage(collateral_value=secured, exposure=outstanding),
        "ltv": rules.loan_to_value(exposure=outstanding, appraised=store.total(rows, "appraised")),
        "lgd": round(float(lgd[0]), 6),
    }
