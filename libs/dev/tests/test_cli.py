"""The `postloan` command line: tokens, and `up` starting and stopping the whole platform."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx
import jwt
import psutil
import pytest

from postloan_common.catalog import SERVICES
from postloan_common.db import drop_database, with_database
from postloan_common.settings import DEVELOPMENT_JWT_PUBLIC_KEY
from postloan_dev.cli import main
from postloan_dev.devstack import DevStack, free_port


def test_token_prints_a_jwt_signed_with_the_development_private_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POSTLOAN_ENV", "development")
    monkeypatch.delenv("POSTLOAN_JWT_PRIVATE_KEY_FILE", raising=False)

    with pytest.raises(SystemExit) as exited:
        main(["token", "--role", "collector", "--sub", "alice", "--ttl-hours", "1"])

    assert exited.value.code == 0
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, DEVELOPMENT_JWT_PUBLIC_KEY, algorithms=["EdDSA"], audience="postloan", issuer="postloan")
    assert claims["roles"] == ["collector"]
    assert claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == 3600


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_for_line(stream, needle: str, timeout_s: float) -> list[str]:
    """Read `stream` until a line contains `needle`; return what was read (the reader keeps going)."""
    seen: list[str] = []
    found = threading.Event()

    def read() -> None:
        for line in stream:
            seen.append(line)
            if needle in line:
                found.set()

    threading.Thread(target=read, daemon=True).start()
    found.wait(timeout_s)
    return seen


@pytest.mark.integration
@pytest.mark.slow
async def test_up_runs_every_service_and_stops_cleanly_on_sigterm(devstack: DevStack, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "POSTGRES_URL": devstack.postgres_url,
        "KAFKA_BOOTSTRAP_SERVERS": devstack.kafka_bootstrap,
    }
    ports: dict[str, int] = {}
    databases: list[str] = []
    for spec in SERVICES:
        ports[spec.name] = free_port()
        metrics_port = free_port()
        database = f"t_up_{suffix}_{spec.database}"
        databases.append(database)
        env[f"{spec.env_prefix}PORT"] = str(ports[spec.name])
        env[f"{spec.env_prefix}METRICS_PORT"] = str(metrics_port)
        env[f"{spec.env_prefix}DATABASE_URL"] = with_database(devstack.postgres_url, database)
        ports[f"{spec.name} metrics"] = metrics_port
    stderr_path = tmp_path / "up.stderr"
    with stderr_path.open("wb") as stderr:
        up = await asyncio.to_thread(
            subprocess.Popen,
            [sys.executable, "-m", "postloan_dev.cli", "up", "--log-dir", str(tmp_path / "logs")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        seen = await asyncio.to_thread(_wait_for_line, up.stdout, "postloan is ready", 150)
        assert any("postloan is ready" in line for line in seen), (
            f"not ready; exit code {up.poll()}\n{''.join(seen)}\n{stderr_path.read_text()[-4000:]}"
        )
        async with httpx.AsyncClient(timeout=5) as client:
            for spec in SERVICES:
                ready = await client.get(f"http://127.0.0.1:{ports[spec.name]}/health/ready")
                assert ready.status_code == 200, (spec.name, ready.text)
        children = psutil.Process(up.pid).children(recursive=True)
        assert len(children) >= 2 * len(SERVICES)

        up.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(up.wait, 30)

        assert code == 0, stderr_path.read_text()[-4000:]
        assert [name for name, port in ports.items() if _listening(port)] == []
        assert [child.pid for child in children if _alive(child)] == []
    finally:
        if up.poll() is None:
            up.kill()
            up.wait(10)
        for database in databases:
            await drop_database(devstack.postgres_url, database)
