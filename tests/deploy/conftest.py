"""Fixtures for the deployment checks: locating the checker tools, compose and kustomize output.

The tools come from `make deploy-tools` (deploy/tools/install-checkers.sh). Outside CI a missing
tool skips its tests with the command that installs it; with CI=true it fails them instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
TOOLS_BIN = Path(os.environ.get("POSTLOAN_DEPLOY_TOOLS") or _CACHE / "postloan" / "deploy-tools") / "bin"
OVERLAYS = ("dev", "prod")
# Variables docker-compose.yml requires; dummy values for `config`, never real ones.
COMPOSE_SECRETS = (
    "POSTLOAN_JWT_PUBLIC_KEY",
    "POSTGRES_PASSWORD",
    "REPAYMENT_MONITOR_DB_PASSWORD",
    "REPAYMENT_MONITOR_APP_DB_PASSWORD",
    "RISK_ALERT_DB_PASSWORD",
    "RISK_ALERT_APP_DB_PASSWORD",
    "CRM_DB_PASSWORD",
    "CRM_APP_DB_PASSWORD",
    "REPORTING_DB_PASSWORD",
    "REPORTING_APP_DB_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
)
# Series Prometheus itself makes.
PROMETHEUS_BUILTINS = frozenset(
    {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped"}
)
PROMQL_KEYWORDS = frozenset(
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
        "offset", "inf", "nan", "atan2", "start", "end",
    }
)  # fmt: skip


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(message: str) -> None:
    """Skip (or, in CI, fail) because a checker tool is not installed."""
    hint = f"{message}; run `make deploy-tools` (deploy/tools/install-checkers.sh)"
    if in_ci():
        pytest.fail(f"CI=true and {hint}", pytrace=False)
    pytest.skip(hint)


def find_tool(name: str) -> str | None:
    """Return the path of `name` from PATH or the deploy tools venv."""
    local = TOOLS_BIN / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def run(
    argv: list[str], *, check: bool = True, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run a checker; on failure show its output in the assertion message."""
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, cwd=REPO, **kwargs)
    if check:
        assert result.returncode == 0, f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def tool() -> Callable[[str], str]:
    """Return a function giving the path of a checker tool, skipping or failing when it is missing."""

    def get(name: str) -> str:
        path = find_tool(name)
        if path is None:
            missing(f"`{name}` is not installed")
        assert path is not None
        return path

    return get


@pytest.fixture(scope="session")
def compose_cmd() -> list[str]:
    """The Compose v2 command line: `docker compose` when the plugin is there, else `docker-compose` v2."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    standalone = find_tool("docker-compose")
    if standalone:
        version = subprocess.run([standalone, "version", "--short"], capture_output=True, text=True).stdout.strip()
        if version.lstrip("v").startswith("2."):
            return [standalone]
    missing("Docker Compose v2 (`docker compose` or `docker-compose` 2.x) is not installed")
    raise AssertionError("unreachable")


def compose_env(**overrides: str) -> dict[str, str]:
    """The process environment with dummy compose secrets (and without the real ones, if any)."""
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_SECRETS}
    env.update({name: f"dummy-{name.lower()}-0123456789abcdef0123456789" for name in COMPOSE_SECRETS})
    env.update(overrides)
    return env


@pytest.fixture(scope="session")
def compose_config(compose_cmd: list[str]) -> dict[str, Any]:
    """`docker compose config` of docker-compose.yml, as JSON (interpolated with dummy secrets)."""
    result = run([*compose_cmd, "-f", "docker-compose.yml", "config", "--format", "json"], env=compose_env())
    config: dict[str, Any] = json.loads(result.stdout)
    return config


@pytest.fixture(scope="session")
def compose_source() -> dict[str, Any]:
    """docker-compose.yml as plain YAML (merge keys resolved, no interpolation)."""
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


@pytest.fixture(scope="session")
def kustomize_builds(tool: Callable[[str], str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`kubectl kustomize` of every overlay, written to files: {overlay: path}."""
    kubectl = tool("kubectl")
    out = tmp_path_factory.mktemp("kustomize")
    builds = {}
    for overlay in OVERLAYS:
        result = run([kubectl, "kustomize", str(DEPLOY / "k8s" / "overlays" / overlay)])
        path = out / f"{overlay}.yaml"
        path.write_text(result.stdout)
        builds[overlay] = path
    return builds


@pytest.fixture(scope="session")
def k8s_objects(kustomize_builds: dict[str, Path]) -> dict[str, list[dict[str, Any]]]:
    """The parsed objects of every overlay's build."""
    return {
        overlay: [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        for overlay, path in kustomize_builds.items()
    }


def dashboard_queries() -> Iterator[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) for every query of every dashboard."""
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                yield path.name, panel["title"], target["expr"]
        for variable in board.get("templating", {}).get("list", []):
            query = variable.get("query")
            if variable.get("type") == "query" and isinstance(query, dict):
                yield path.name, f"variable {variable['name']}", query["query"]


def alert_rules() -> Iterator[dict[str, Any]]:
    """Every rule (alerting or recording) of deploy/prometheus/rules."""
    for path in sorted((DEPLOY / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            yield from group["rules"]


def grafana_to_promql(expr: str) -> str:
    """Replace Grafana's template variables with values Prometheus accepts."""
    expr = expr.replace("$__rate_interval", "5m").replace("$__range", "1h").replace("$__interval", "1m")
    return re.sub(r"\$\{?(\w+)\}?", ".*", expr)


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (functions, labels and keywords removed)."""
    text = label_values = grafana_to_promql(expr)
    # label_values(metric, label) is Grafana's, not PromQL: keep only its metric.
    label_values = re.sub(r"label_values\(\s*([a-zA-Z_:][\w:]*)[^)]*\)", r"\1", text)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', label_values)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\boffset\s+\w+", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name in PROMQL_KEYWORDS or re.fullmatch(r"\d+\w*", name):
            continue
        names.add(name)
    return names


@pytest.fixture(scope="session")
def deploy() -> ModuleType:
    """This module's helpers (test modules cannot import a conftest under --import-mode=importlib)."""
    return sys.modules[__name__]
