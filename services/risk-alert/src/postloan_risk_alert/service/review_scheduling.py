"""Close of day for reviews: cancel those of closed loans, create first, routine and triggered ones, mark overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_risk_alert.domain.reviews import ReviewPolicy, terms_for, triggered_due
from postloan_risk_alert.store import reviews as store
from postloan_risk_alert.store.events import envelope_params


@dataclass
class ReviewRunStats:
    cancelled: int = 0
    created: int = 0
    overdue: int = 0


async def current_policy(session: AsyncSession) -> ReviewPolicy:
    """The stored review policy, or the defaults of docs/domain.md."""
    document, _ = await store.load_policy(session)
    return ReviewPolicy.model_validate(document) if document else ReviewPolicy()


def _count(status: str) -> int:
    """Rows of an `INSERT 0 n` / `UPDATE n` status string."""
    return int(status.rsplit(" ", 1)[-1])


async def _terms_params(raw: Any, policy: ReviewPolicy) -> list[Any]:
    """The terms of each (product, segment) in use, as the array parameters of store.TERMS_CTE."""
    pairs = await raw.fetch("SELECT DISTINCT product, segment FROM loan_features WHERE status = 'active'")
    columns: list[list[Any]] = [[] for _ in range(store.TERMS_PARAMS)]
    for pair in pairs:
        terms = terms_for(policy, product=pair["product"], segment=pair["segment"])
        row = (
            pair["product"],
            pair["segment"],
            terms.first_after_days,
            terms.normal_every_days,
            terms.special_mention_every_days,
            terms.npl_every_days,
            Decimal(terms.large_exposure) if terms.large_exposure is not None else None,
            terms.large_exposure_every_days,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


async def schedule_reviews(session: AsyncSession, *, business_date: date, correlation_id: str | None) -> ReviewRunStats:
    """Run the review schedule for `business_date` in the caller's transaction (after re-classification)."""
    stats = ReviewRunStats()
    raw = await driver_connection(session)
    policy = await current_policy(session)
    stats.cancelled = _count(await raw.execute(store.CANCEL_CLOSED))
    terms = await _terms_params(raw, policy)
    for statement in (store.FIRST_REVIEWS, store.ROUTINE_REVIEWS):
        # Fresh envelope parameters per statement: they seed the event ids.
        due = envelope_params(business_date, correlation_id, "review-due")
        stats.created += _count(await raw.execute(statement, business_date, *terms, policy.notice_days, *due))
    stats.created += _count(
        await raw.execute(
            store.TRIGGERED_REVIEWS,
            business_date,
            triggered_due(business_date=business_date, policy=policy),
            store.CATEGORY_NAMES,
            *envelope_params(business_date, correlation_id, "review-due"),
        )
    )
    await raw.execute(store.WATCH_CLASSIFICATIONS)
    stats.overdue = _count(
        await raw.execute(
            store.MARK_OVERDUE, business_date, *envelope_params(business_date, correlation_id, "review-overdue")
        )
    )
    return stats
