"""Guarantees (担保): register one on an open loan (published for crm), list them by loan or guarantor."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import GuaranteeRegisteredV1
from postloan_risk_alert.service.alerts import current_business_date
from postloan_risk_alert.service.refusals import Conflict, Invalid, NotFound
from postloan_risk_alert.store import events
from postloan_risk_alert.store.tables import guarantees, loan_features

FIELDS = ("guarantee_id", "loan_id", "customer_id", "guarantor_customer_id", "kind", "amount", "valid_until")


async def register(
    session: AsyncSession, *, item: dict[str, Any], correlation_id: str | None
) -> tuple[dict[str, Any], bool]:
    """Register a guarantee; the same request again returns the first answer (False)."""
    existing = (
        await session.execute(select(guarantees).where(guarantees.c.guarantee_id == item["guarantee_id"]))
    ).first()
    if existing is not None:
        row = dict(existing._mapping)
        if all(row[k] == item[k] for k in item):
            return {k: row[k] for k in FIELDS}, False
        raise Conflict(f"guarantee {item['guarantee_id']} exists with other content")
    loan = (
        await session.execute(
            select(loan_features.c.customer_id, loan_features.c.status).where(
                loan_features.c.loan_id == item["loan_id"]
            )
        )
    ).first()
    if loan is None:
        raise NotFound(f"loan {item['loan_id']} is not known to risk-alert")
    if loan.status != "active":
        raise Invalid("body.loan_id", f"loan {item['loan_id']} is {loan.status}: a closed loan takes no guarantee")
    if item["guarantor_customer_id"] == loan.customer_id:
        raise Invalid("body.guarantor_customer_id", "a borrower cannot guarantee their own loan")
    row = {**item, "customer_id": loan.customer_id}
    await session.execute(insert(guarantees).values(**row))
    data = GuaranteeRegisteredV1(**row)
    business_date = await current_business_date(session)
    await events.publish(
        session, data, subject=row["loan_id"], business_date=business_date, correlation_id=correlation_id
    )
    return {k: row[k] for k in FIELDS}, True


async def listed(
    session: AsyncSession, *, loan_id: str | None, guarantor_customer_id: str | None
) -> list[dict[str, Any]]:
    """Guarantees of a loan or given by a guarantor, by id."""
    query = select(*(guarantees.c[k] for k in FIELDS)).order_by(guarantees.c.guarantee_id)
    if loan_id is not None:
        query = query.where(guarantees.c.loan_id == loan_id)
    if guarantor_customer_id is not None:
        query = query.where(guarantees.c.guarantor_customer_id == guarantor_customer_id)
    return [dict(r._mapping) for r in await session.execute(query)]
