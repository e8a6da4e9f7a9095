"""The compose stack without Docker: a private PostgreSQL set up by the compose init script, a
broker, and every service's migration, API and worker run with the exact commands and environment
of docker-compose.yml (host names pointed at this machine). Then the Kubernetes probe paths must
answer, the smoke script must pass, and every metric a dashboard or alert uses must be exported."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from postloan_common.catalog import SERVICES, ServiceSpec
from postloan_common.web.auth import mint_token
from postloan_dev.devstack import EmbeddedPostgres, Tansu, _postgres_bin_dir, free_port
from postloan_dev.testing import other_private_key, public_key_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 120.0
# Names the boards use before a service exports them (promises kept and broken: no service has a
# promise metric yet, issues 5 and 6). A listed name that some service exports fails the test.
PENDING_METRICS = frozenset({"reporting_promises_total"})
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}

# The token issuer of this test platform; the services get only its public half.
ISSUER_KEY = other_private_key()


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} interpolation."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        got = variables.get(name, "")
        if op == ":?" and not got:
            raise KeyError(f"{name}: {arg}")
        return got or (arg if op == ":-" else "")

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value)


@dataclass
class Platform:
    postgres: EmbeddedPostgres
    broker: Tansu
    variables: dict[str, str]
    logs: Path
    apis: dict[str, str] = field(default_factory=dict)
    workers: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def psql(self, *, user: str, database: str, sql: str) -> subprocess.CompletedProcess[str]:
        argv = [str(_postgres_bin_dir() / "psql"), "-h", "127.0.0.1", "-p", str(self.postgres.port)]
        return subprocess.run(
            [*argv, "-U", user, "-d", database, "-tAc", sql], capture_output=True, text=True, timeout=30
        )


def service_env(platform: Platform, compose: dict[str, Any], service: str) -> dict[str, str]:
    """The compose environment of `service`, interpolated, with hosts pointed at this machine."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", "/root"),
    }
    for name, value in compose["services"][service]["environment"].items():
        local = interpolate(str(value), platform.variables)
        local = local.replace("@postgres:5432/", f"@127.0.0.1:{platform.postgres.port}/")
        env[name] = local.replace("kafka:9092", platform.broker.bootstrap)
    env["KAFKA_IDEMPOTENT_PRODUCER"] = "false"  # Tansu cannot do InitProducerId (docs/operations.md)
    return env


def local_command(command: list[str], *, port: int | None = None) -> list[str]:
    """The compose command with /app mapped to the repository and the API on a free loopback port."""
    argv = [arg.replace("/app/", f"{REPO}/") for arg in command]
    if port is not None:
        argv[argv.index("--port") + 1] = str(port)
        argv[argv.index("--host") + 1] = "127.0.0.1"
    return argv


def get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def probe_paths(spec: ServiceSpec) -> dict[str, str]:
    """The probe paths of the Kubernetes base, by probe."""
    base = REPO / "deploy" / "k8s" / "base" / spec.name
    (api,) = yaml.safe_load((base / "deployment-api.yaml").read_text())["spec"]["template"]["spec"]["containers"]
    (worker,) = yaml.safe_load((base / "deployment-worker.yaml").read_text())["spec"]["template"]["spec"]["containers"]
    return {
        "api readiness": api["readinessProbe"]["httpGet"]["path"],
        "api liveness": api["livenessProbe"]["httpGet"]["path"],
        "api startup": api["startupProbe"]["httpGet"]["path"],
        "worker liveness": worker["livenessProbe"]["httpGet"]["path"],
    }


def wait_until(check: Any, what: str, platform: Platform) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not check():
        crashed = [p.args for p in platform.processes if p.poll() is not None]
        if crashed or time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(platform.logs.glob("*.log")))
            pytest.fail(f"{what}: not reached (exited: {crashed})\n{tails}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def platform(compose_source: dict[str, Any]) -> Iterator[Platform]:
    tmp = Path(tempfile.mkdtemp(prefix="postloan-deploy-"))
    os.chmod(tmp, 0o755)
    variables = {"POSTGRES_PASSWORD": secrets.token_hex(24), "POSTLOAN_JWT_PUBLIC_KEY": public_key_of(ISSUER_KEY)}
    variables |= {f"{s.env_prefix}DB_PASSWORD": secrets.token_hex(16) for s in SERVICES}
    variables |= {f"{s.env_prefix}APP_DB_PASSWORD": secrets.token_hex(16) for s in SERVICES}
    postgres = EmbeddedPostgres(tmp / "pg").start()
    broker: Tansu | None = None
    platform: Platform | None = None
    try:
        broker = Tansu(log_path=tmp / "tansu.log").start()
        logs = tmp / "logs"
        logs.mkdir()
        platform = Platform(postgres=postgres, broker=broker, variables=variables, logs=logs)
        init = subprocess.run(
            ["bash", str(REPO / "deploy/postgres/initdb/10-postloan-databases.sh")],
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("PG")},
                **variables,
                "PATH": f"{_postgres_bin_dir()}:{os.environ['PATH']}",
                "PGHOST": "127.0.0.1",
                "PGPORT": str(postgres.port),
                "POSTGRES_USER": "postgres",
                "POSTLOAN_RUNTIME_GRANTS": str(REPO / "deploy/postgres/runtime-grants.sql"),
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert init.returncode == 0, init.stderr
        for spec in SERVICES:
            migrate = f"{spec.name}-migrate"
            command = local_command(compose_source["services"][migrate]["command"])
            done = subprocess.run(
                command, env=service_env(platform, compose_source, migrate), capture_output=True, text=True, timeout=180
            )
            assert done.returncode == 0, f"{migrate}: {' '.join(command)}\n{done.stdout}\n{done.stderr}"
        topics = subprocess.run(
            compose_source["services"]["topics"]["command"],
            env=service_env(platform, compose_source, "topics"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert topics.returncode == 0, topics.stderr
        for spec in SERVICES:
            api_port, metrics_port = free_port(), free_port()
            api = f"{spec.name}-api"
            worker = f"{spec.name}-worker"
            worker_env = service_env(platform, compose_source, worker)
            worker_env[f"{spec.env_prefix}METRICS_PORT"] = str(metrics_port)
            for name, argv, env in (
                (api, local_command(compose_source["services"][api]["command"], port=api_port),
                 service_env(platform, compose_source, api)),
                (worker, local_command(compose_source["services"][worker]["command"]), worker_env),
            ):  # fmt: skip
                with (logs / f"{name}.log").open("wb") as out:
                    platform.processes.append(
                        subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
                    )
            platform.apis[spec.name] = f"http://127.0.0.1:{api_port}"
            platform.workers[spec.name] = f"http://127.0.0.1:{metrics_port}"
        yield platform
    finally:
        for process in platform.processes if platform else []:
            process.terminate()
        for process in platform.processes if platform else []:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if broker is not None:
            broker.stop()
        postgres.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def ready_platform(platform: Platform) -> Platform:
    """The platform once every Kubernetes probe path answers 200."""
    for spec in SERVICES:
        paths = probe_paths(spec)
        for probe in ("api startup", "api liveness", "api readiness"):
            url = platform.apis[spec.name] + paths[probe]
            wait_until(lambda url=url: _ok(url), f"{spec.name} {probe} {url}", platform)
        url = platform.workers[spec.name] + paths["worker liveness"]
        wait_until(lambda url=url: _ok(url), f"{spec.name} worker liveness {url}", platform)
    return platform


def _ok(url: str) -> bool:
    try:
        return get(url, timeout=3)[0] == 200
    except OSError:
        return False


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_each_role_owns_its_database_and_reaches_no_other(platform: Platform, spec: ServiceSpec) -> None:
    role = spec.name.replace("-", "_")
    migrated = platform.psql(user=role, database=spec.database, sql="SELECT count(*) FROM alembic_version")
    assert migrated.returncode == 0 and migrated.stdout.strip() == "1", migrated.stderr
    owner = platform.psql(
        user=role,
        database=spec.database,
        sql="SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()",
    )
    assert owner.stdout.strip() == role
    for other in [s.database for s in SERVICES if s is not spec] + ["postgres"]:
        denied = platform.psql(user=role, database=other, sql="SELECT 1")
        assert denied.returncode != 0
        assert "permission denied" in denied.stderr, denied.stderr


def test_probes_and_smoke_script(ready_platform: Platform, deploy: ModuleType) -> None:
    token = mint_token(secret=ISSUER_KEY, sub="deploy-test", roles=["admin"])
    result = deploy.run(
        [
            sys.executable,
            str(REPO / "deploy" / "scripts" / "smoke.py"),
            "--token",
            token,
            "--timeout",
            "60",
            *(f"--api={name}={url}" for name, url in ready_platform.apis.items()),
        ]
    )
    assert "smoke: 4 passed, 0 failed" in result.stdout


def test_worker_metrics_port_default_matches_compose(compose_source: dict[str, Any]) -> None:
    from postloan_common.worker import resolve_metrics_port

    for spec in SERVICES:
        module = __import__(f"{spec.package}.settings", fromlist=["Settings"])
        settings = module.Settings(_env_file=None)
        port = resolve_metrics_port(settings=settings, metrics_port=settings.metrics_port)
        health = " ".join(compose_source["services"][f"{spec.name}-worker"]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/metrics" in health
        assert settings.port == spec.port


def test_every_metric_on_a_board_or_alert_is_exported(ready_platform: Platform, deploy: ModuleType) -> None:
    exported: set[str] = set()
    for url in [*ready_platform.apis.values(), *ready_platform.workers.values()]:
        status, text = get(f"{url}/metrics")
        assert status == 200, url
        for family in text_string_to_metric_families(text):
            exported |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    recorded = {rule["record"] for rule in deploy.alert_rules() if "record" in rule}
    used: dict[str, str] = {}
    for board, panel, expr in deploy.dashboard_queries():
        used |= dict.fromkeys(deploy.promql_metric_names(expr), f"{board} / {panel}")
    for rule in deploy.alert_rules():
        used |= dict.fromkeys(deploy.promql_metric_names(rule["expr"]), f"rule {rule.get('alert') or rule['record']}")
    known = exported | recorded | deploy.PROMETHEUS_BUILTINS
    unknown = {name: where for name, where in used.items() if name not in known and name not in PENDING_METRICS}
    assert not unknown, f"metrics used but exported by no service: {unknown}"
    landed = PENDING_METRICS & exported
    assert not landed, f"now exported, remove from PENDING_METRICS: {sorted(landed)}"
    assert {"http_requests_total", "consumer_lag", "outbox_oldest_pending_age_seconds"} <= exported
