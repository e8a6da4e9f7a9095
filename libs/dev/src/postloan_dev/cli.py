"""`postloan`: mint tokens, migrate databases, create topics, run the whole platform locally, simulate core banking."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import httpx

from postloan_common import ops
from postloan_common.catalog import SERVICES, ServiceSpec
from postloan_common.logging import configure_logging, get_logger
from postloan_common.ops import migrate as ops_migrate
from postloan_common.settings import ServiceSettings
from postloan_dev import connectors
from postloan_dev.devkeys import signing_key
from postloan_dev.devstack import DevStack, start_devstack
from postloan_dev.tokens import local_token

log = get_logger("postloan.cli")

DEFAULT_LOG_DIR = Path(".devstack/logs")
READY_TIMEOUT_S = 90.0
STOP_GRACE_S = 10.0
METRICS_PORT_OFFSET = 1000


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and run the chosen command."""
    args = _parser().parse_args(argv)
    raise SystemExit(args.command(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="postloan", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    token = commands.add_parser("token", help="print a JWT for local use")
    token.add_argument("--role", action="append", required=True, help="role to grant (repeatable)")
    token.add_argument("--sub", default="local-user", help="subject (default: local-user)")
    token.add_argument("--ttl-hours", type=float, default=12.0, help="lifetime in hours (default: 12)")
    token.set_defaults(command=cmd_token)

    ops.register(commands)

    up = commands.add_parser("up", help="run every service's API and worker with PostgreSQL and a broker")
    up.add_argument("--data-dir", type=Path, help="keep embedded PostgreSQL data here (default: temporary)")
    up.add_argument("--log-dir", type=Path, help="child logs (default: DATA_DIR/logs or .devstack/logs)")
    up.set_defaults(command=cmd_up)

    sim = commands.add_parser("simulate", help="play a seeded core-banking simulation against the platform")
    sim.add_argument("--loans", type=int, default=1000, help="loans to book (default: 1000)")
    sim.add_argument("--months", type=int, default=12, help="months to play, day by day (default: 12)")
    sim.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same events")
    sim.add_argument("--start", type=date.fromisoformat, help="first day; must be the platform's business date")
    sim.add_argument("--via", choices=["kafka", "rest"], default="kafka", help="transport (default: kafka)")
    sim.add_argument("--repayment-url", help="repayment-monitor (default: http://127.0.0.1:$REPAYMENT_MONITOR_PORT)")
    sim.add_argument(
        "--crm-url", help="crm, for the strategy and --via rest customers (default: http://127.0.0.1:$CRM_PORT)"
    )
    sim.add_argument("--truth", type=Path, default=Path("truth.csv"), help="ground-truth CSV (default: truth.csv)")
    sim.add_argument("--pd-snapshot", type=Path, help="write every loan's PD after --pd-month months here (CSV)")
    sim.add_argument("--pd-month", type=int, default=3, help="months played before the PD snapshot (default: 3)")
    sim.add_argument("--dry-run", action="store_true", help="play the model only and print counts (no I/O)")
    sim.add_argument(
        "--dunning-uplift",
        type=float,
        help="register a 50/50 champion / hold-out strategy in crm; dunned borrowers answer with this probability",
    )
    sim.add_argument("--cases", type=Path, default=Path("cases.csv"), help="case truth CSV, with --dunning-uplift")
    sim.set_defaults(command=cmd_simulate)
    connectors.register(commands)
    return parser


# --- token -----------------------------------------------------------------------------------------


def cmd_token(args: argparse.Namespace) -> int:
    """Print a token signed with the configured secret."""
    print(local_token(sub=args.sub, roles=args.role, ttl=timedelta(hours=args.ttl_hours)))
    return 0


# --- simulate --------------------------------------------------------------------------------------


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run the core-banking simulator (see postloan_dev.simulator)."""
    from postloan_dev.simulator.driver import (
        RISK_ALERT_GROUP,
        PdSnapshot,
        SimulationError,
        Target,
        finish,
        simulate,
        system_token,
    )
    from postloan_dev.simulator.experiment import DunningExperiment
    from postloan_dev.simulator.model import Simulation, SimulationConfig

    logging.getLogger("httpx").setLevel(logging.WARNING)
    start = args.start or datetime.now(ZoneInfo("Asia/Shanghai")).date()
    try:
        experiment = DunningExperiment(uplift=args.dunning_uplift) if args.dunning_uplift is not None else None
        config = SimulationConfig(
            seed=args.seed, loans=args.loans, months=args.months, start=start, experiment=experiment
        )
    except ValueError as exc:
        print(f"postloan simulate: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        sim = Simulation(config)
        for _day, _events in sim.run():
            pass
        finish(sim, truth_path=None, stream=sys.stdout, cases_path=None)
        return 0
    settings = ServiceSettings()
    by_name = {spec.name: _endpoint(spec, os.environ) for spec in SERVICES}
    target = Target(
        repayment_url=args.repayment_url or by_name["repayment-monitor"].url,
        crm_url=args.crm_url or by_name["crm"].url,
        risk_url=by_name["risk-alert"].url,
        flows_group=RISK_ALERT_GROUP,
        token=system_token(
            secret=signing_key(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            algorithm=settings.jwt_algorithm,
        ),
        strategy_token=system_token(
            secret=signing_key(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            algorithm=settings.jwt_algorithm,
            sub="simulator-strategy",
            role="admin",
        ),
        via=args.via,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        partitions=settings.kafka_topic_partitions,
        idempotent_producer=settings.kafka_idempotent_producer,
    )
    try:
        snapshot = PdSnapshot(args.pd_snapshot, months=args.pd_month) if args.pd_snapshot else None
        run = simulate(
            config,
            target,
            requested_start=args.start,
            truth_path=args.truth,
            pd_snapshot=snapshot,
            cases_path=args.cases if experiment is not None else None,
        )
        asyncio.run(run)
    except SimulationError as exc:
        print(f"postloan simulate: {exc}", file=sys.stderr)
        return 2
    return 0


# --- up --------------------------------------------------------------------------------------------


@dataclass
class Child:
    """One supervised process: a service's API or worker."""

    label: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start the process in its own process group, output to its log file."""
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - argv built from the catalog
            self.argv, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, process_group=0
        )

    def exit_code(self) -> int | None:
        """Return the exit code, or None while running."""
        return None if self.process is None else self.process.poll()

    def signal_group(self, sig: signal.Signals) -> None:
        """Send `sig` to the child's process group."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def close_log(self) -> None:
        """Close the log file handle."""
        if self._log is not None:
            self._log.close()

    def tail(self, lines: int = 40) -> str:
        """Return the last `lines` lines of the child's output."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


@dataclass(frozen=True)
class Endpoint:
    spec: ServiceSpec
    port: int
    metrics_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class StartupError(Exception):
    """The platform could not start; the message says which service and why."""


def cmd_up(args: argparse.Namespace) -> int:
    """Start the devstack and every service; supervise until a signal or a crash."""
    configure_logging(service="postloan-up", json=False)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = threading.Event()
    _stop_on_signals(stop)
    stack: DevStack | None = None
    children: list[Child] = []
    code = 0
    try:
        stack = start_devstack(data_dir=args.data_dir.resolve() if args.data_dir else None)
        specs = connectors.platform_services(os.environ)
        endpoints = [_endpoint(spec, os.environ) for spec in specs]
        ops_migrate.migrate_services(specs, server_url=stack.postgres_url, environ=os.environ)
        ops_migrate.create_topics(stack.kafka_bootstrap)
        if stop.is_set():
            return 0
        log_dir = (args.log_dir or (args.data_dir / "logs" if args.data_dir else DEFAULT_LOG_DIR)).resolve()
        log_dir.mkdir(parents=True, exist_ok=True)
        children = _children(endpoints, stack=stack, log_dir=log_dir)
        for child in children:
            child.start()
        _wait_until_ready(endpoints, children, stop)
        if stop.is_set():
            return 0
        _print_summary(endpoints, stack=stack, log_dir=log_dir)
        code = _supervise(children, stop)
    except StartupError as exc:
        print(f"postloan up failed: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        _stop_children(children)
        if stack is not None:
            stack.stop()
        log.info("postloan stopped", exit_code=code)
    return code


def _endpoint(spec: ServiceSpec, environ: Mapping[str, str]) -> Endpoint:
    port = int(environ.get(f"{spec.env_prefix}PORT") or spec.port)
    metrics = environ.get(f"{spec.env_prefix}METRICS_PORT")
    return Endpoint(spec, port, int(metrics) if metrics else port + METRICS_PORT_OFFSET)


def _children(endpoints: Sequence[Endpoint], *, stack: DevStack, log_dir: Path) -> list[Child]:
    children: list[Child] = []
    server = stack.postgres_url
    for endpoint in endpoints:
        spec = endpoint.spec
        env = {
            **os.environ,
            f"{spec.env_prefix}DATABASE_URL": ops_migrate.database_url(spec, server_url=server, environ=os.environ),
            f"{spec.env_prefix}PORT": str(endpoint.port),
            f"{spec.env_prefix}METRICS_PORT": str(endpoint.metrics_port),
            "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap,
            "POSTLOAN_ENV": os.environ.get("POSTLOAN_ENV", "development"),
            "PYTHONUNBUFFERED": "1",
        }
        api = [
            sys.executable, "-m", "uvicorn", f"{spec.package}.main:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(endpoint.port), "--no-access-log",
        ]  # fmt: skip
        worker = [sys.executable, "-m", f"{spec.package}.worker"]
        children.append(Child(f"{spec.name} api", api, env, log_dir / f"{spec.name}-api.log"))
        children.append(Child(f"{spec.name} worker", worker, env, log_dir / f"{spec.name}-worker.log"))
    return children


def _wait_until_ready(endpoints: Sequence[Endpoint], children: Sequence[Child], stop: threading.Event) -> None:
    """Return once every API answers 200 on /health/ready; raise StartupError naming a laggard."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    waiting = {endpoint.spec.name: endpoint for endpoint in endpoints}
    with httpx.Client(timeout=3.0) as client:
        while waiting and not stop.is_set():
            _raise_if_any_died(children)
            for name, endpoint in list(waiting.items()):
                if _is_ready(client, endpoint):
                    log.info("service ready", service=name, url=endpoint.url)
                    del waiting[name]
            if waiting and time.monotonic() > deadline:
                name = next(iter(waiting))
                api = next(c for c in children if c.label == f"{name} api")
                raise StartupError(
                    f"{name} was not ready after {READY_TIMEOUT_S:.0f} s "
                    f"({waiting[name].url}/health/ready); last output of {api.log_path}:\n{api.tail()}"
                )
            stop.wait(0.5)


def _is_ready(client: httpx.Client, endpoint: Endpoint) -> bool:
    try:
        return client.get(f"{endpoint.url}/health/ready").status_code == 200
    except httpx.HTTPError:
        return False


def _raise_if_any_died(children: Sequence[Child]) -> None:
    for child in children:
        code = child.exit_code()
        if code is not None:
            raise StartupError(
                f"{child.label} exited with code {code}; last output of {child.log_path}:\n{child.tail()}"
            )


def _supervise(children: Sequence[Child], stop: threading.Event) -> int:
    """Wait for a signal (exit 0) or an unexpected child exit (exit 1)."""
    while not stop.wait(0.5):
        for child in children:
            code = child.exit_code()
            if code is not None:
                log.error("process exited unexpectedly, stopping all", process=child.label, exit_code=code)
                print(f"{child.label} exited with code {code}; last output:\n{child.tail()}", file=sys.stderr)
                return 1
    return 0


def _stop_children(children: Sequence[Child]) -> None:
    """SIGTERM every child's group, wait up to the grace period, then SIGKILL what is left."""
    for child in children:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("process did not stop in time, killing it", process=child.label)
            child.signal_group(signal.SIGKILL)
            child.process.wait(5)
        # Anything the child left in its group goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.process.pid, signal.SIGKILL)
        child.close_log()


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: object) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _print_summary(endpoints: Sequence[Endpoint], *, stack: DevStack, log_dir: Path) -> None:
    token = local_token(sub="local-admin", roles=["admin"])
    rows = [("service", "API", "docs", "API metrics", "worker metrics")]
    rows += [
        (
            e.spec.name,
            e.url,
            f"{e.url}/docs",
            f"{e.url}/metrics",
            f"http://127.0.0.1:{e.metrics_port}/metrics",
        )
        for e in endpoints
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["", "postloan is ready", ""]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines += [
        "",
        f"PostgreSQL  {stack.postgres_url}",
        f"broker      {stack.kafka_bootstrap}" + ("  (embedded Tansu, in memory)" if stack.broker else ""),
        f"logs        {log_dir}",
        f"admin token {token}",
        "",
        "Ctrl-C stops everything.",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
