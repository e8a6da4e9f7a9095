"""The bulk upload streams to its spool directory with its own cap: over it, 413 problem+json (issue 13 item 9)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import text

from postloan_common.db import engine_scope

pytestmark = pytest.mark.integration

CAP = 2_000
PART = b'{"loan_id": "L-1"}' + b" " * 81 + b"\n"  # 100 bytes, one NDJSON line


async def _count_jobs(url: str) -> int:
    async with engine_scope(url) as engine, engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM bulk_jobs"))).scalar_one())


async def test_an_upload_over_the_bulk_cap_is_refused_while_streaming(rm_api, token, tmp_path: Path, monkeypatch):
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setenv("REPAYMENT_MONITOR_BULK_SPOOL_DIR", str(spool))
    monkeypatch.setenv("REPAYMENT_MONITOR_BULK_MAX_BYTES", str(CAP))
    sent = 0

    async def body(parts: int):
        nonlocal sent
        for _ in range(parts):
            sent += 1
            yield PART

    async with rm_api() as (client, url):
        headers = {**token("admin"), "Content-Type": "application/x-ndjson"}
        response = await client.post("/v1/loans/bulk", content=body(100), headers=headers)
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["status"] == 413 and str(CAP) in problem["detail"]
        # Streamed: reading stopped at the cap, long before the 10,000-byte body was all sent.
        assert sent <= CAP // len(PART) + 1
        assert list(spool.iterdir()) == []
        assert await _count_jobs(url) == 0

        # Under the cap the upload is spooled there and accepted as a job.
        sent = 0
        accepted = await client.post("/v1/loans/bulk", content=body(10), headers=headers)
        assert accepted.status_code == 202, accepted.text
        assert sent == 10 and await _count_jobs(url) == 1
        job = json.loads(accepted.text)
        for _ in range(100):  # let the job end before the app stops (its lines are not bookings)
            status = (await client.get(job["status_url"], headers=headers)).json()["status"]
            if status != "running":
                break
            await asyncio.sleep(0.1)
        assert status == "succeeded"
