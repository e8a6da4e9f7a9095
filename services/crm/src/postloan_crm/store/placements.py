"""SQL of collection agencies and the placements of cases with them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.domain.placements import ACTIVE
from postloan_crm.store.placement_tables import agencies, placements

AGENCY_FIELDS = ("agency_id", "name", "commission_rate", "active")


async def lock_agency(session: AsyncSession, agency_id: str) -> dict[str, Any] | None:
    """The agency (id, name, rate, active), locked so concurrent PUTs apply one after the other, or None."""
    query = select(*(agencies.c[name] for name in AGENCY_FIELDS)).where(agencies.c.agency_id == agency_id)
    row = (await session.execute(query.with_for_update())).mappings().first()
    return dict(row) if row is not None else None


async def save_agency(session: AsyncSession, agency: dict[str, Any]) -> None:
    """Insert the agency or overwrite its name, rate and active flag."""
    fields = {k: v for k, v in agency.items() if k != "agency_id"}
    stmt = pg_insert(agencies).values(**agency)
    stmt = stmt.on_conflict_do_update(index_elements=[agencies.c.agency_id], set_=fields | {"updated_at": func.now()})
    await session.execute(stmt)


async def all_agencies(session: AsyncSession) -> list[dict[str, Any]]:
    """Every agency, by id."""
    query = select(*(agencies.c[name] for name in AGENCY_FIELDS)).order_by(agencies.c.agency_id)
    return [dict(r) for r in (await session.execute(query)).mappings()]


async def active_placement(session: AsyncSession, case_id: str) -> dict[str, Any] | None:
    """The case's current placement, or None when it is with no agency."""
    query = select(placements).where(placements.c.case_id == case_id, placements.c.status == ACTIVE)
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def add_placement(session: AsyncSession, row: dict[str, Any]) -> dict[str, Any]:
    """Record a placement; return it."""
    return dict((await session.execute(insert(placements).values(**row).returning(placements))).mappings().one())


async def lock_placement(session: AsyncSession, placement_id: str) -> dict[str, Any] | None:
    """The placement locked for update (a second recall waits for the first), or None."""
    query = select(placements).where(placements.c.placement_id == placement_id).with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row is not None else None


async def end_placement(session: AsyncSession, placement_id: str, **values: Any) -> dict[str, Any]:
    """Set `values` on the placement; return it."""
    query = (
        update(placements)
        .where(placements.c.placement_id == placement_id)
        .values(**values, updated_at=func.now())
        .returning(placements)
    )
    return dict((await session.execute(query)).mappings().one())


async def case_placements(session: AsyncSession, case_id: str) -> list[dict[str, Any]]:
    """The case's placements, newest first."""
    query = (
        select(placements)
        .where(placements.c.case_id == case_id)
        .order_by(placements.c.placed_at.desc(), placements.c.placement_id)
    )
    return [dict(r) for r in (await session.execute(query)).mappings()]


def placed_with(agency_id: str, case_id: Any) -> ColumnElement[bool]:
    """A WHERE clause admitting the cases (by their id column) currently placed with the agency."""
    placed = select(placements.c.case_id).where(placements.c.agency_id == agency_id, placements.c.status == ACTIVE)
    return case_id.in_(placed)
