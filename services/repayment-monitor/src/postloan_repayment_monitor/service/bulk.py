"""Bulk intake of a whole portfolio: a file of bookings loaded through COPY, chunk by chunk.

The formats are in service/bulk_files.py, the checks of each booking in service/bulk_parse.py.
A bad line is rejected with its line number and reason, the others load. Idempotent on loan_id,
like book_loans: the same content again is unchanged, other content is rejected as a conflict, a
new loan is written with its installments and one `loan-registered` event (outbox and loan
history, service/bulk_events.py).

Chunks (default 25,000 loans) are one transaction each, with the job's counters updated in it;
a job that fails keeps the chunks already committed, and loading the same file again is safe.

Why it is fast: a parsing thread turns each chunk into COPY text while the database writes the
previous one; the writer COPYs it into temporary staging tables, inserts loans and installments
with one INSERT … SELECT each, and COPYs the events' outbox and history rows (store/bulk.py).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.db import driver_connection
from postloan_common.logging import get_logger
from postloan_repayment_monitor.domain.business_days import DEFAULT_WEEKEND
from postloan_repayment_monitor.domain.delinquency import bucket_on_sql
from postloan_repayment_monitor.domain.rules import BucketScheme, ProductRules
from postloan_repayment_monitor.service.bulk_events import registered_events
from postloan_repayment_monitor.service.bulk_files import BookingReader
from postloan_repayment_monitor.service.bulk_jobs import (
    INTERRUPTED,
    MAX_ERRORS,
    JobProgress,
    create_job,
    failure_reason,
    get_job,
    new_job_id,
    save_progress,
)
from postloan_repayment_monitor.service.bulk_parse import (
    FORMATS,
    INSTALLMENT_COLUMNS,
    LOAN_COLUMNS,
    TERMS_COLUMNS,
    Format,
    LineError,
    ParsedChunk,
    ParsedLoan,
)
from postloan_repayment_monitor.service.calendar import business_date
from postloan_repayment_monitor.service.holidays import load_calendar
from postloan_repayment_monitor.store import bulk as store

__all__ = [
    "DEFAULT_CHUNK",
    "FORMATS",
    "INSTALLMENT_COLUMNS",
    "LOAN_COLUMNS",
    "MAX_ERRORS",
    "TERMS_COLUMNS",
    "Format",
    "JobProgress",
    "create_job",
    "get_job",
    "load_file",
    "new_job_id",
]

log = get_logger(__name__)

DEFAULT_CHUNK = 25_000


@dataclass
class _Writer:
    sessions: async_sessionmaker[AsyncSession]
    progress: JobProgress
    initial_business_date: date
    buckets: BucketScheme
    correlation_id: str | None
    weekend: frozenset[int]
    # Seconds spent per step, summed over the chunks (logged: where the time of a big load goes).
    timings: dict[str, float] = field(default_factory=dict)

    async def write(self, loans: list[ParsedLoan], errors: list[LineError], total: int) -> list[ParsedLoan]:
        """Load one chunk in one transaction; return the repeated bookings it defers to the next one."""
        first: dict[str, ParsedLoan] = {}
        later: list[ParsedLoan] = []
        for loan in loans:
            # A loan id repeated within the chunk is judged once the first one is committed.
            if loan.loan_id in first:
                later.append(loan)
            else:
                first[loan.loan_id] = loan
        progress = self.progress
        started = time.perf_counter()
        before = progress.snapshot()
        try:
            async with self.sessions.begin() as session:
                if first:
                    created, conflicts = await self._load(session, list(first.values()))
                    progress.loaded += created
                    progress.unchanged += len(first) - created - len(conflicts)
                    errors = sorted([*errors, *conflicts], key=lambda e: e.line)
                progress.total += total
                progress.reject(errors)
                await save_progress(session, progress=progress)
                mark = time.perf_counter()
        except BaseException:
            # The chunk rolled back: the job's final counters must not count it.
            progress.restore(before)
            raise
        self.timings["commit"] = self.timings.get("commit", 0.0) + time.perf_counter() - mark
        self.timings["write"] = self.timings.get("write", 0.0) + time.perf_counter() - started
        return later

    async def _load(self, session: AsyncSession, loans: list[ParsedLoan]) -> tuple[int, list[LineError]]:
        clock = self.timings
        mark = time.perf_counter()

        def lap(step: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            clock[step] = clock.get(step, 0.0) + now - mark
            mark = now

        today = await business_date(session, initial=self.initial_business_date, lock="share")
        conn = await driver_connection(session)
        defaults = ProductRules()
        lap("begin")
        # The text was made by the parsing thread: this step only streams it.
        await store.stage(
            conn, loans="".join(x.loan for x in loans), installments="".join(x.installments for x in loans)
        )
        lap("copy")
        shifting, shifts = await self._shifts(session, conn, loans)
        lap("calendar")
        created = await store.insert_loans(
            conn,
            today=today,
            bucket_sql=partial(_bucket_sql, buckets=self.buckets),
            penalty_multiplier=defaults.penalty_multiplier,
            grace_days=defaults.grace_days,
            shifting=shifting,
            shifts=shifts,
        )
        lap("loans")
        outbox, history = registered_events(
            [x for x in loans if x.loan_id in created],
            today=today,
            correlation_id=self.correlation_id,
            shifting=shifting,
            shifts=shifts,
        )
        await store.copy_events(conn, outbox=outbox, history=history)
        lap("events")
        conflicts = [
            LineError(line, loan_id, f"loan {loan_id} is already booked with different content")
            for line, loan_id, same in await store.not_created(conn)
            if not same
        ]
        lap("outcomes")
        return len(created), conflicts

    async def _shifts(
        self, session: AsyncSession, conn: object, loans: list[ParsedLoan]
    ) -> tuple[set[str], dict[date, date]]:
        """The chunk's products that shift due dates, and where each non-business day of their loans' terms moves."""
        shifting = await store.shifting_products(conn, list({x.product for x in loans}))
        if not shifting:
            return shifting, {}
        shifted = [x for x in loans if x.product in shifting]
        calendar = await load_calendar(session, weekend=self.weekend)
        first, last = min(x.first_due_date for x in shifted), max(x.maturity_date for x in shifted)
        return shifting, calendar.shifts(first, last)


def _bucket_sql(first_due: str, *, buckets: BucketScheme) -> str:
    return bucket_on_sql(first_due, "$1::date", buckets)


async def load_file(
    sessions: async_sessionmaker[AsyncSession],
    *,
    job_id: str,
    path: Path,
    fmt: Format,
    initial_business_date: date,
    buckets: BucketScheme,
    chunk_size: int = DEFAULT_CHUNK,
    correlation_id: str | None = None,
    weekend: frozenset[int] = DEFAULT_WEEKEND,
) -> JobProgress:
    """Load `path` into the job `job_id` (already created); the job ends succeeded or failed.

    `weekend` is the settings' weekend_days (Settings.weekend()); loans of products that shift due
    dates fall due on business days as book_loans makes them.
    """
    progress = JobProgress(job_id)
    writer = _Writer(sessions, progress, initial_business_date, buckets, correlation_id, weekend)
    started = time.perf_counter()
    parsing: asyncio.Task[ParsedChunk | None] | None = None
    try:
        reader = BookingReader(path, fmt)
        parsing = asyncio.create_task(asyncio.to_thread(reader.next_chunk, chunk_size))
        carried: list[ParsedLoan] = []
        while True:
            waiting = time.perf_counter()
            chunk = await parsing
            parsing = None
            if chunk is None:
                break
            # Parse the next chunk while this one is written.
            parsing = asyncio.create_task(asyncio.to_thread(reader.next_chunk, chunk_size))
            waited = time.perf_counter() - waiting
            writer.timings["wait_for_parse"] = writer.timings.get("wait_for_parse", 0.0) + waited
            carried = await writer.write([*carried, *chunk.loans], chunk.errors, chunk.total)
            _log_chunk(progress, started)
        while carried:
            carried = await writer.write(carried, [], 0)
        progress.status = "succeeded"
    except Exception as exc:
        progress.fail(failure_reason(exc))
        log.exception("bulk job failed", job_id=job_id)
    finally:
        if parsing is not None:
            parsing.cancel()
        # Cancelled (the API shutting down) or any other way out: the job still ends, never stays running.
        if progress.status == "running":
            progress.fail(INTERRUPTED)
        async with sessions.begin() as session:
            await save_progress(session, progress=progress, finished_at=datetime.now(UTC))
        log.info(
            "bulk job finished",
            job_id=job_id,
            status=progress.status,
            total=progress.total,
            loaded=progress.loaded,
            unchanged=progress.unchanged,
            rejected=progress.rejected,
            seconds=round(time.perf_counter() - started, 1),
            step_seconds={k: round(v, 2) for k, v in writer.timings.items()},
        )
    return progress


def _log_chunk(progress: JobProgress, started: float) -> None:
    log.info(
        "bulk chunk loaded",
        job_id=progress.job_id,
        total=progress.total,
        loaded=progress.loaded,
        unchanged=progress.unchanged,
        rejected=progress.rejected,
        loans_per_s=round(progress.total / (time.perf_counter() - started)),
    )
