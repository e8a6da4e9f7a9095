"""The risk of one loan or one customer: features joined with the latest score and classification."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.store.rows import first_row
from postloan_risk_alert.store.tables import (
    classifications,
    customer_features,
    customer_scores,
    loan_features,
    loan_scores,
)

SCORE_COLUMNS = ("score", "pd", "grade", "reason_codes", "model_version")
CLASSIFICATION_COLUMNS = ("category", "ifrs9_stage", "ecl", "reason", "in_observation")


async def loan_risk(session: AsyncSession, loan_id: str) -> dict[str, Any] | None:
    """A loan's features, score and classification (None columns where not scored or classified yet)."""
    f = loan_features.c
    query = (
        select(
            f.loan_id,
            f.customer_id,
            f.dpd,
            f.product,
            f.collateral.label("collateral_type"),
            f.outstanding,
            *(loan_scores.c[k] for k in (*SCORE_COLUMNS, "scored_on")),
            *(classifications.c[k] for k in CLASSIFICATION_COLUMNS),
        )
        .select_from(
            loan_features.outerjoin(loan_scores, loan_scores.c.loan_id == f.loan_id).outerjoin(
                classifications, classifications.c.loan_id == f.loan_id
            )
        )
        .where(f.loan_id == loan_id)
    )
    return await first_row(session, query)


async def customer_risk(session: AsyncSession, customer_id: str) -> dict[str, Any] | None:
    """A customer's features and score (None score columns where not scored yet)."""
    joined = customer_features.outerjoin(
        customer_scores, customer_scores.c.customer_id == customer_features.c.customer_id
    )
    query = (
        select(customer_features, *(customer_scores.c[k] for k in SCORE_COLUMNS))
        .select_from(joined)
        .where(customer_features.c.customer_id == customer_id)
    )
    return await first_row(session, query)
