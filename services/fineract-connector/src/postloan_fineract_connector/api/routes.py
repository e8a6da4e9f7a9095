"""`GET /v1/status`: what the connector has seen from Fineract and which schemas it can read."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from postloan_common.web import DbSession, require_roles
from postloan_fineract_connector.service import status as status_service

READERS = ("admin", "system", "analyst")

router = APIRouter(prefix="/v1", tags=["status"], dependencies=[Depends(require_roles(*READERS))])


class TypeCountOut(BaseModel):
    event_type: str
    outcome: str
    count: int
    last_seen_at: datetime


class SchemaOut(BaseModel):
    name: str
    release: str
    fingerprint: str


class StatusOut(BaseModel):
    events: list[TypeCountOut]
    mapped_ids: dict[str, int]
    schemas: list[SchemaOut]


@router.get("/status", response_model=StatusOut)
async def status(session: DbSession) -> StatusOut:
    """Counts per Fineract event type and outcome, mapped ids per kind, and the schema store."""
    seen = await status_service.status(session)
    return StatusOut(
        events=[TypeCountOut(**vars(c)) for c in seen.counts],
        mapped_ids=seen.mapped_ids,
        schemas=[SchemaOut(name=n, release=r, fingerprint=f"{fp:016x}") for n, r, fp in seen.schemas],
    )
