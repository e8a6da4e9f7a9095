"""Bulk job status: the counters a job reports while it runs, and its final status."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_repayment_monitor.service.bulk_parse import BulkFormatError, Format, LineError
from postloan_repayment_monitor.store import bulk as store

MAX_ERRORS = 100


@dataclass
class JobProgress:
    job_id: str
    total: int = 0
    loaded: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    status: str = "running"

    def reject(self, errors: list[LineError]) -> None:
        self.rejected += len(errors)
        room = MAX_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(e.as_dict() for e in errors[:room])

    def fail(self, reason: str) -> None:
        """End the job failed, with `reason` as its last error."""
        self.status = "failed"
        self.errors = [*self.errors[: MAX_ERRORS - 1], {"line": None, "loan_id": None, "reason": reason}]

    def snapshot(self) -> tuple[int, int, int, int, list[dict[str, Any]]]:
        """The counters, to restore when the chunk that changes them rolls back."""
        return self.total, self.loaded, self.unchanged, self.rejected, list(self.errors)

    def restore(self, counters: tuple[int, int, int, int, list[dict[str, Any]]]) -> None:
        """Put back the counters of `snapshot`."""
        self.total, self.loaded, self.unchanged, self.rejected, self.errors = counters

    def counters(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "loaded": self.loaded,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": self.errors,
            "status": self.status,
        }


def new_job_id() -> str:
    """A fresh bulk job id."""
    return f"bulk-{uuid.uuid4().hex}"


async def create_job(session: AsyncSession, *, job_id: str, fmt: Format, submitted_by: str) -> None:
    """Record a job as running, in the caller's transaction."""
    await store.insert_job(session, job_id=job_id, fmt=fmt, submitted_by=submitted_by)


async def get_job(session: AsyncSession, *, job_id: str) -> dict[str, Any] | None:
    """The job's progress, or None when unknown."""
    return await store.select_job(session, job_id=job_id)


async def save_progress(session: AsyncSession, *, progress: JobProgress, **extra: Any) -> None:
    """Write the job's counters (and e.g. its finish time), in the caller's transaction."""
    await store.update_job(session, job_id=progress.job_id, values={**progress.counters(), **extra})


INTERRUPTED = "the job was interrupted before it finished (its process stopped or the task was cancelled)"
STALE = "the job stopped without finishing: no progress for {minutes} minutes, its API process is gone"


async def fail_stale_jobs(session: AsyncSession, *, silent_for: timedelta) -> list[str]:
    """Mark failed, with the reason, running jobs without progress for `silent_for` (their process died)."""
    reason = STALE.format(minutes=round(silent_for.total_seconds() / 60))
    return await store.fail_silent_jobs(session, silent_for=silent_for, reason=reason)


def failure_reason(exc: BaseException) -> str:
    """What a failed job reports about the exception that ended it."""
    if isinstance(exc, BulkFormatError | UnicodeDecodeError | OSError):
        return f"the file cannot be read: {exc}"
    return f"the job failed: {type(exc).__name__}: {exc}"[:500]
