"""Bulk jobs always end: a job cut short still records its final status, and start-up fails stale ones."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from postloan_common.db import engine_scope, session_factory
from postloan_dev.testing import TEST_JWT_SECRET
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service import bulk, bulk_jobs
from postloan_repayment_monitor.store import bulk as bulk_store
from postloan_repayment_monitor.store.tables import bulk_jobs as jobs_table

pytestmark = pytest.mark.integration

TODAY = date(2026, 1, 5)


def _line(n: int) -> str:
    return json.dumps(
        {
            "loan_id": f"L-{n}",
            "customer_id": f"C-{n}",
            "product": "retail",
            "branch": "B1",
            "currency": "EUR",
            "principal": "300.00",
            "annual_rate": "0.12",
            "disbursed_on": "2026-01-05",
            "terms": {"method": "annuity", "months": 3, "first_due_date": "2026-02-05"},
        }
    )


async def test_a_job_cut_short_records_its_final_status(migrated_database, tmp_path: Path, monkeypatch):
    url = await migrated_database("postloan_repayment_monitor")
    path = tmp_path / "loans.ndjson"
    path.write_text("".join(_line(n) + "\n" for n in range(4)))
    copy_events = bulk_store.copy_events
    calls = 0

    async def cancelled_on_second_chunk(conn, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 2:
            # What the API's shutdown does to a running job task.
            raise asyncio.CancelledError
        await copy_events(conn, **kwargs)

    monkeypatch.setattr(bulk_store, "copy_events", cancelled_on_second_chunk)
    async with engine_scope(url) as engine:
        sessions = session_factory(engine)
        job_id = bulk.new_job_id()
        async with sessions.begin() as session:
            await bulk.create_job(session, job_id=job_id, fmt="ndjson", submitted_by="test")
        with pytest.raises(asyncio.CancelledError):
            await bulk.load_file(
                sessions,
                job_id=job_id,
                path=path,
                fmt="ndjson",
                initial_business_date=TODAY,
                buckets=BucketScheme(),
                chunk_size=2,
            )
        async with sessions() as session:
            job = await bulk.get_job(session, job_id=job_id)
    assert job is not None
    assert job["status"] == "failed" and job["finished_at"] is not None
    assert job["errors"][-1]["reason"] == bulk_jobs.INTERRUPTED
    # Only the committed first chunk counts; the second rolled back.
    assert (job["total"], job["loaded"]) == (2, 2)


async def test_start_up_fails_running_jobs_without_progress_and_leaves_live_ones(
    migrated_database, devstack, monkeypatch
):
    url = await migrated_database("postloan_repayment_monitor")
    async with engine_scope(url) as engine, session_factory(engine).begin() as session:
        for job_id, status in (("bulk-stale", "running"), ("bulk-live", "running"), ("bulk-done", "succeeded")):
            await session.execute(
                insert(jobs_table).values(job_id=job_id, status=status, format="ndjson", submitted_by="t")
            )
        hour_ago = func.now() - timedelta(hours=1)
        await session.execute(
            update(jobs_table)
            .where(jobs_table.c.job_id.in_(["bulk-stale", "bulk-done"]))
            .values(updated_at=hour_ago, created_at=hour_ago)
        )
    from postloan_repayment_monitor.main import create_app

    monkeypatch.setenv("REPAYMENT_MONITOR_DATABASE_URL", url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
    monkeypatch.setenv("POSTLOAN_JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.setenv("POSTLOAN_ENV", "test")
    app = create_app()
    async with app.router.lifespan_context(app):
        pass
    columns = (jobs_table.c.job_id, jobs_table.c.status, jobs_table.c.errors, jobs_table.c.finished_at)
    async with engine_scope(url) as engine, engine.connect() as conn:
        rows = {r.job_id: r for r in await conn.execute(select(*columns))}
    assert rows["bulk-stale"].status == "failed" and rows["bulk-stale"].finished_at is not None
    assert rows["bulk-stale"].errors[-1]["reason"] == bulk_jobs.STALE.format(minutes=10)
    assert rows["bulk-live"].status == "running" and rows["bulk-live"].finished_at is None
    assert rows["bulk-done"].status == "succeeded" and rows["bulk-done"].finished_at is None
