"""Bulk intake of a whole portfolio (NDJSON or CSV upload), loaded by a background job."""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.logging import get_logger
from postloan_common.web import DbSession, ProblemError
from postloan_common.web.openapi import problems
from postloan_repayment_monitor.api.deps import Buckets, CurrentCaller, ServiceConfig, Writer
from postloan_repayment_monitor.api.problems import READ_ONE
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service import bulk

router = APIRouter(tags=["bulk"])
log = get_logger(__name__)

_SPOOL_BUFFER = 1 << 20
_FORMAT_OF = {"application/x-ndjson": "ndjson", "application/ndjson": "ndjson", "text/csv": "csv"}


class BulkAccepted(BaseModel):
    job_id: str
    status: str
    status_url: str


class BulkLineError(BaseModel):
    line: int | None
    loan_id: str | None
    reason: str


class BulkJobOut(BaseModel):
    job_id: str
    status: str
    format: str
    submitted_by: str
    total: int
    loaded: int
    unchanged: int
    rejected: int
    errors: list[BulkLineError]
    created_at: datetime
    finished_at: datetime | None


def _format_of(content_type: str | None) -> bulk.Format:
    media = (content_type or "").split(";")[0].strip().lower()
    fmt = _FORMAT_OF.get(media)
    if fmt is None:
        raise ProblemError(
            415,
            "Unsupported upload type",
            f"Content-Type must be application/x-ndjson or text/csv, not {media or 'missing'}",
        )
    return "ndjson" if fmt == "ndjson" else "csv"


async def _spool(request: Request, fmt: str, *, directory: str | None, cap: int) -> tuple[Path, int]:
    """Stream the request body to a file in `directory`, at most `cap` bytes (413 beyond), never all in memory."""
    fd, name = tempfile.mkstemp(prefix="postloan-bulk-", suffix=f".{fmt}", dir=directory)
    path, size = Path(name), 0
    buffer = bytearray()
    try:
        with os.fdopen(fd, "wb") as handle:
            async for part in request.stream():
                if size + len(buffer) + len(part) > cap:
                    # Stop reading: the rest of the body never reaches memory or disk.
                    raise ProblemError(
                        413,
                        "Content Too Large",
                        f"The bulk upload is larger than the {cap} bytes allowed for it",
                        headers={"Connection": "close"},
                    )
                buffer += part
                if len(buffer) >= _SPOOL_BUFFER:
                    size += len(buffer)
                    await asyncio.to_thread(handle.write, bytes(buffer))
                    buffer.clear()
            size += len(buffer)
            await asyncio.to_thread(handle.write, bytes(buffer))
    except BaseException:
        await _remove(path)
        raise
    return path, size


async def _remove(path: Path) -> None:
    await asyncio.to_thread(path.unlink, missing_ok=True)


async def _run_job(
    sessions: async_sessionmaker[AsyncSession],
    *,
    job_id: str,
    path: Path,
    fmt: bulk.Format,
    initial: date,
    buckets: BucketScheme,
    weekend: frozenset[int],
    correlation_id: str,
) -> None:
    try:
        await bulk.load_file(
            sessions,
            job_id=job_id,
            path=path,
            fmt=fmt,
            initial_business_date=initial,
            buckets=buckets,
            correlation_id=correlation_id or None,
            weekend=weekend,
        )
    finally:
        await _remove(path)


@router.post(
    "/loans/bulk",
    response_model=BulkAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[Writer],
    operation_id="submitLoanBatch",
    responses=problems(401, 403, 400, 413, 415, 422),
)
async def submit_bulk(
    request: Request,
    response: Response,
    session: DbSession,
    settings: ServiceConfig,
    buckets: Buckets,
    caller: CurrentCaller,
    content_type: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Accept a portfolio file (one POST /v1/loans body per NDJSON line, or CSV) and load it in the background."""
    fmt = _format_of(content_type)
    path, size = await _spool(request, fmt, directory=settings.bulk_spool_dir, cap=settings.bulk_max_bytes)
    if size == 0:
        await _remove(path)
        raise ProblemError(400, "Empty upload", "the request body is empty: send the file as the body")
    job_id = bulk.new_job_id()
    try:
        async with session.begin():
            await bulk.create_job(session, job_id=job_id, fmt=fmt, submitted_by=caller.actor)
            await caller.audit(session, action="loans.bulk", subject=job_id, details={"format": fmt, "bytes": size})
    except BaseException:
        await _remove(path)
        raise
    task = asyncio.create_task(
        _run_job(
            request.app.state.sessions,
            job_id=job_id,
            path=path,
            fmt=fmt,
            initial=settings.first_business_date(),
            buckets=buckets,
            weekend=settings.weekend(),
            correlation_id=caller.correlation_id,
        ),
        name=job_id,
    )
    # The loop keeps only weak references to tasks: hold the job until it is done.
    running: set[asyncio.Task[None]] | None = getattr(request.app.state, "bulk_jobs", None)
    if running is None:
        running = request.app.state.bulk_jobs = set()
    running.add(task)
    task.add_done_callback(running.discard)
    log.info("bulk job accepted", job_id=job_id, format=fmt, bytes=size)
    status_url = f"/v1/loans/bulk/{job_id}"
    response.headers["Location"] = status_url
    return {"job_id": job_id, "status": "running", "status_url": status_url}


@router.get(
    "/loans/bulk/{job_id}",
    response_model=BulkJobOut,
    dependencies=[Writer],
    operation_id="getLoanBatch",
    responses=READ_ONE,
)
async def bulk_status(job_id: str, session: DbSession) -> dict[str, Any]:
    """Progress of a bulk job: counts so far and the first rejected lines with their reasons."""
    job = await bulk.get_job(session, job_id=job_id)
    if job is None:
        raise ProblemError(404, "Bulk job not found", f"bulk job {job_id} is not known")
    return job
