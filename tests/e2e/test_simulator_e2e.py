"""`postloan simulate` against a real repayment-monitor (API and worker as subprocesses, real PostgreSQL).

The test runs its own in-memory broker, so the `repayment-monitor` consumer group and the
core-banking topics see only this simulation's records.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO

import httpx
import pytest

from postloan_common.catalog import all_topics
from postloan_common.messaging.admin import ensure_topics
from postloan_dev.devstack import Tansu, free_port
from postloan_dev.simulator.driver import SimulationError, Target, simulate, system_token
from postloan_dev.simulator.model import LoanStatus, SimulationConfig
from postloan_dev.testing import TEST_JWT_SECRET

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START = date(2026, 1, 1)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Tansu]:
    tansu = Tansu(log_path=tmp_path / "tansu.log").start()
    try:
        yield tansu
    finally:
        tansu.stop()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _spawn(argv: list[str], *, env: dict[str, str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, process_group=0)


@pytest.fixture
async def postloan_repayment_monitor(migrated_database, broker: Tansu, tmp_path: Path) -> AsyncIterator[str]:
    """repayment-monitor's API and worker on a fresh migrated database; yields the API's base URL."""
    url = await migrated_database("postloan_repayment_monitor")
    await ensure_topics(broker.bootstrap, all_topics(), partitions=4)
    port = free_port()
    env = {
        **os.environ,
        "REPAYMENT_MONITOR_DATABASE_URL": url,
        "REPAYMENT_MONITOR_INITIAL_BUSINESS_DATE": START.isoformat(),
        "REPAYMENT_MONITOR_PORT": str(port),
        "REPAYMENT_MONITOR_METRICS_PORT": "0",
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KAFKA_SESSION_TIMEOUT_MS": "6000",
        "POSTLOAN_ENV": "test",
        "POSTLOAN_LOG_LEVEL": "WARNING",
    }
    api_argv = [
        sys.executable, "-m", "uvicorn", "postloan_repayment_monitor.main:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
    ]  # fmt: skip
    logs = [(tmp_path / "api.log").open("wb"), (tmp_path / "worker.log").open("wb")]
    processes = [
        _spawn(api_argv, env=env, log=logs[0]),
        _spawn([sys.executable, "-m", "postloan_repayment_monitor.worker"], env=env, log=logs[1]),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=3) as client:
            while True:
                for process, name in zip(processes, ("api.log", "worker.log"), strict=True):
                    if process.poll() is not None:
                        pytest.fail(f"{name} exited: {(tmp_path / name).read_text()[-3000:]}")
                try:
                    if (await client.get(f"{base}/health/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"repayment-monitor not ready: {(tmp_path / 'api.log').read_text()[-3000:]}")
                await asyncio.sleep(0.3)
        yield base
    finally:
        for process in processes:
            _stop(process)
        for log in logs:
            log.close()


async def test_a_tiny_simulation_books_every_loan_and_advances_the_calendar(
    postloan_repayment_monitor: str, broker: Tansu, tmp_path: Path
) -> None:
    token = system_token(secret=TEST_JWT_SECRET, issuer="postloan", audience="postloan", algorithm="EdDSA")
    target = Target(
        repayment_url=postloan_repayment_monitor, token=token, bootstrap_servers=broker.bootstrap, consume_timeout_s=120
    )
    config = SimulationConfig(seed=11, loans=25, months=2, start=START)
    progress = io.StringIO()

    sim = await simulate(config, target, requested_start=None, truth_path=tmp_path / "truth.csv", stream=progress)

    end = date(2026, 3, 1)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=postloan_repayment_monitor, headers=headers, timeout=30) as client:
        calendar = (await client.get("/v1/calendar")).json()
        assert calendar["business_date"] == end.isoformat()
        assert calendar["last_closed"] == "2026-02-28"
        booked = [loan for loan in sim.loans if loan.status is not LoanStatus.PENDING]
        assert len(booked) == 25
        # This seed plays every kind of payment the platform must get right.
        assert min(sim.stats[k] for k in ("repayments", "back-valued", "partial", "reversals")) > 0, sim.stats
        for loan in booked:
            response = await client.get(f"/v1/loans/{loan.loan_id}")
            assert response.status_code == 200, response.text
            body = response.json()
            # The simulator's idea of each loan is the platform's, to the cent.
            assert body["status"] == loan.status.value, loan.loan_id
            assert body["dpd"] == loan.dpd_on(end), loan.loan_id
            if loan.status is LoanStatus.ACTIVE:
                expected = loan.position(end).total_outstanding
                assert Decimal(body["outstanding"]["total"]) == expected, loan.loan_id

        # Another run must start where the platform is: a different start is refused.
        with pytest.raises(SimulationError, match="business date is 2026-03-01"):
            await simulate(config, target, requested_start=START, truth_path=None, stream=io.StringIO())

    lines = progress.getvalue().splitlines()
    assert sum(" day " in line for line in lines) == len(sim.days) == 59
    truth = (tmp_path / "truth.csv").read_text().splitlines()
    assert truth[0].startswith("loan_id,customer_id,product,branch,archetype,propensity")
    assert len(truth) == 26
