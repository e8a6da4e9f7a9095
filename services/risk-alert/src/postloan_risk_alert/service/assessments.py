"""Periodic assessments: store the figures, derive the ratios, update the customer and its rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.domain.assessment import Financials, ratios
from postloan_risk_alert.domain.trends import rising_streak
from postloan_risk_alert.service.alerts import current_business_date
from postloan_risk_alert.service.close_of_day import evaluate_customer_rules
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store.tables import assessments, customer_features, loan_features

FIGURES = (
    "revenue",
    "profit",
    "total_assets",
    "total_liabilities",
    "current_assets",
    "current_liabilities",
    "operating_cash_flow",
    "interest_expense",
)


class DuplicateAssessment(ValueError):
    """The customer already has an assessment for that period."""


async def submit(
    session: AsyncSession,
    *,
    customer_id: str,
    period_end: date,
    currency: str,
    figures: dict[str, Decimal],
    actor: str,
    settings: Settings,
    correlation_id: str | None,
) -> dict[str, Any]:
    """Store an assessment, derive its ratios, refresh the customer's features and evaluate customer rules."""
    previous = (
        await session.execute(
            select(*(assessments.c[f] for f in FIGURES))
            .where(assessments.c.customer_id == customer_id, assessments.c.period_end < period_end)
            .order_by(assessments.c.period_end.desc())
            .limit(1)
        )
    ).first()
    current = Financials(**figures)
    derived = ratios(current, Financials(**previous._mapping) if previous else None)
    inserted = (
        await session.execute(
            insert(assessments)
            .values(
                customer_id=customer_id,
                period_end=period_end,
                currency=currency,
                ratios={k: (format(v, "f") if v is not None else None) for k, v in derived.items()},
                created_by=actor,
                **figures,
            )
            .on_conflict_do_nothing()
            .returning(assessments.c.id)
        )
    ).first()
    if inserted is None:
        raise DuplicateAssessment(f"customer {customer_id} already has an assessment for {period_end}")
    latest = (
        await session.execute(
            select(customer_features.c.assessment_period).where(customer_features.c.customer_id == customer_id)
        )
    ).scalar()
    if latest is None or latest <= period_end:
        values = {
            "assessment_period": period_end,
            "debt_ratio": derived["debt_ratio"],
            "current_ratio": derived["current_ratio"],
            "interest_coverage": derived["interest_coverage"],
            "revenue_change": derived["revenue_change"],
            "debt_ratio_rises": rising_streak(await _debt_ratios(session, customer_id)),
        }
        await session.execute(
            insert(customer_features)
            .values(customer_id=customer_id, **values)
            .on_conflict_do_update(index_elements=[customer_features.c.customer_id], set_=values)
        )
        # The ratios are score inputs of the customer's loans.
        await session.execute(
            update(loan_features).where(loan_features.c.customer_id == customer_id).values(dirty=True)
        )
    raised, _ = await evaluate_customer_rules(
        session,
        business_date=await current_business_date(session),
        settings=settings,
        correlation_id=correlation_id,
        customer_ids=[customer_id],
        actor=actor,
    )
    return {
        "id": inserted.id,
        "customer_id": customer_id,
        "period_end": period_end,
        "ratios": derived,
        "alerts_raised": raised,
    }


async def _debt_ratios(session: AsyncSession, customer_id: str) -> list[Decimal | None]:
    """The customer's debt ratios, oldest period first (the last few are enough for a streak)."""
    rows = await session.execute(
        select(assessments.c.ratios["debt_ratio"].astext)
        .where(assessments.c.customer_id == customer_id)
        .order_by(assessments.c.period_end.desc())
        .limit(12)
    )
    return [Decimal(v) if v is not None else None for (v,) in reversed(rows.all())]
