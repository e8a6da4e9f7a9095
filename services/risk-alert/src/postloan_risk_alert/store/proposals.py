"""Classification proposals in SQL: reads, the one in force per loan, and their lapse at close of day."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_risk_alert.store.rows import first_row, row_by_key
from postloan_risk_alert.store.tables import classification_proposals, classifications, loan_features

# The rules' category worsened past the judgement (the close of day wrote a rules reason): it lapses.
LAPSE = text(
    """UPDATE classification_proposals p SET status = 'superseded', updated_at = now(),
        note = coalesce(p.note || '; ', '') || 'lapsed: the rules worsened past it'
    FROM classifications c WHERE c.loan_id = p.loan_id AND p.status = 'approved' AND c.reason <> 'judgement'"""
)


async def lapse_judgements(session: AsyncSession) -> None:
    """Mark the judgements the day's classification left behind as superseded."""
    await session.execute(LAPSE)


async def loan_state(session: AsyncSession, loan_id: str) -> dict[str, Any] | None:
    """A loan's customer, DPD and stored classification (None when the loan is unknown)."""
    columns = (loan_features.c.customer_id, loan_features.c.dpd, loan_features.c.status)
    query = (
        select(*columns, *(classifications.c[k] for k in ("category", "own_category", "reason", "ifrs9_stage", "ecl")))
        .select_from(loan_features.outerjoin(classifications, classifications.c.loan_id == loan_features.c.loan_id))
        .where(loan_features.c.loan_id == loan_id)
    )
    return await first_row(session, query)


async def get(session: AsyncSession, proposal_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    """One proposal row, or None."""
    return await row_by_key(session, classification_proposals.c.proposal_id, proposal_id, for_update=for_update)


async def pending_of(session: AsyncSession, loan_id: str) -> dict[str, Any] | None:
    """The loan's pending proposal, or None."""
    query = select(classification_proposals).where(
        classification_proposals.c.loan_id == loan_id, classification_proposals.c.status == "pending"
    )
    return await first_row(session, query)


async def listed(session: AsyncSession, *, status: str | None, after: str | None, limit: int) -> list[dict[str, Any]]:
    """Proposals by id (`limit + 1` rows), optionally of one status."""
    query = select(classification_proposals).order_by(classification_proposals.c.proposal_id).limit(limit + 1)
    if status is not None:
        query = query.where(classification_proposals.c.status == status)
    if after is not None:
        query = query.where(classification_proposals.c.proposal_id > after)
    return [dict(r._mapping) for r in await session.execute(query)]


async def judgement_in_force(session: AsyncSession, loan_id: str) -> str | None:
    """The id of the loan's approved proposal, or None."""
    return (
        await session.execute(
            select(classification_proposals.c.proposal_id).where(
                classification_proposals.c.loan_id == loan_id, classification_proposals.c.status == "approved"
            )
        )
    ).scalar()
