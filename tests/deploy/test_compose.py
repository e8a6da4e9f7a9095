"""docker-compose.yml: validates with Compose v2 and wires the platform as the README says."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from postloan_common.catalog import SERVICES, ServiceSpec

LONG_RUNNING_SUFFIXES = ("-api", "-worker")


def project_name(spec: ServiceSpec) -> str:
    data: dict[str, Any] = tomllib.loads((deploy_root() / spec.directory / "pyproject.toml").read_text())
    return str(data["project"]["name"])


def deploy_root() -> Path:
    return Path(__file__).resolve().parents[2]


def api_command(spec: ServiceSpec) -> list[str]:
    return ["uvicorn", f"{spec.package}.main:create_app", "--factory", "--host", "0.0.0.0", "--port", str(spec.port)]


def worker_command(spec: ServiceSpec) -> list[str]:
    return ["python", "-m", f"{spec.package}.worker"]


def migrate_command(spec: ServiceSpec) -> list[str]:
    return ["alembic", "-c", f"/app/services/{spec.name}/alembic.ini", "upgrade", "head"]


def conditions(service: dict[str, Any]) -> dict[str, str]:
    return {name: dep["condition"] for name, dep in service.get("depends_on", {}).items()}


def test_compose_file_validates(compose_config: dict[str, Any]) -> None:
    expected = {"postgres", "kafka", "topics", "prometheus", "grafana"}
    for spec in SERVICES:
        expected |= {f"{spec.name}-migrate", f"{spec.name}-api", f"{spec.name}-worker"}
    assert set(compose_config["services"]) == expected


@pytest.mark.parametrize("variable", ["POSTLOAN_JWT_PUBLIC_KEY", "CRM_DB_PASSWORD", "GRAFANA_ADMIN_PASSWORD"])
def test_compose_refuses_to_run_without_a_secret(deploy: ModuleType, compose_cmd: list[str], variable: str) -> None:
    env = deploy.compose_env()
    del env[variable]
    result = deploy.run([*compose_cmd, "-f", "docker-compose.yml", "config", "-q"], env=env, check=False)
    assert result.returncode != 0
    assert variable in result.stderr


def test_no_secret_value_is_committed(deploy: ModuleType) -> None:
    text = (deploy.REPO / "docker-compose.yml").read_text()
    for line in text.splitlines():
        match = re.match(r"\s*([A-Z0-9_]*(?:SECRET|PASSWORD)[A-Z0-9_]*|jwt):\s*(\S.*)$", line)
        if match:
            value = re.sub(r"^&[\w-]+\s+", "", match.group(2))  # a YAML anchor may precede the value
            assert value.startswith(("${", "*")), f"literal secret in docker-compose.yml: {line.strip()}"
            if value.startswith("${"):
                assert ":?" in value, f"a secret must be required (${{VAR:?message}}): {line.strip()}"


def test_kafka_is_apache_kafka_in_kraft_mode_pinned(compose_config: dict[str, Any]) -> None:
    kafka = compose_config["services"]["kafka"]
    image, _, tag = kafka["image"].partition(":")
    assert image == "apache/kafka"
    assert re.fullmatch(r"\d+\.\d+\.\d+", tag), f"pin an exact apache/kafka version, not {tag!r}"
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "zookeeper" not in str(compose_config).lower()
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false", "topics come from the topics one-shot"


def test_every_image_is_pinned(compose_config: dict[str, Any]) -> None:
    for name, service in compose_config["services"].items():
        image = service["image"]
        tag = image.rpartition(":")[2] if ":" in image.split("/")[-1] else ""
        assert tag and tag != "latest", f"{name}: image {image} has no pinned tag"


def test_postgres_16_runs_the_init_script(deploy: ModuleType, compose_config: dict[str, Any]) -> None:
    postgres = compose_config["services"]["postgres"]
    assert postgres["image"].startswith("postgres:16")
    mounts = {v["target"]: v for v in postgres["volumes"]}
    initdb = mounts["/docker-entrypoint-initdb.d"]
    assert deploy.Path(initdb["source"]) == deploy.REPO / "deploy/postgres/initdb"
    for spec in SERVICES:
        assert f"{spec.env_prefix}DB_PASSWORD" in postgres["environment"]


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_service_commands_health_checks_and_order(compose_config: dict[str, Any], spec: ServiceSpec) -> None:
    services = compose_config["services"]
    migrate, api, worker = (services[f"{spec.name}-{role}"] for role in ("migrate", "api", "worker"))
    image = f"postloan/{spec.name}:dev"
    assert migrate["image"] == api["image"] == worker["image"] == image, "one image per service"
    assert migrate["build"]["dockerfile"] == "deploy/docker/Dockerfile", "one Dockerfile for every service"
    assert migrate["build"]["args"] == {
        "SERVICE": spec.name,
        "PACKAGE": project_name(spec),
        "MODULE": spec.package,
        "PORT": str(spec.port),
        "METRICS_PORT": str(spec.port + 1000),
    }
    assert api["environment"][f"{spec.env_prefix}PORT"] == str(spec.port), "the worker derives its metrics port"

    assert migrate["command"] == migrate_command(spec)
    assert conditions(migrate) == {"postgres": "service_healthy"}
    assert migrate["restart"] == "no"

    assert api["command"] == api_command(spec)
    assert worker["command"] == worker_command(spec)
    for long_running in (api, worker):
        assert conditions(long_running) == {
            f"{spec.name}-migrate": "service_completed_successfully",
            "topics": "service_completed_successfully",
            "kafka": "service_healthy",
        }
        env = long_running["environment"]
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["KAFKA_IDEMPOTENT_PRODUCER"] == "true"
        assert env["POSTLOAN_ENV"] == "production"
        database_url = env[f"{spec.env_prefix}DATABASE_URL"]
        role = spec.name.replace("-", "_")
        # Services run as the runtime role (append-only audit_log), migrations as the owner.
        assert re.fullmatch(rf"postgresql\+asyncpg://{role}_app:[^@]+@postgres:5432/{spec.database}", database_url)
        owner_url = migrate["environment"][f"{spec.env_prefix}DATABASE_URL"]
        assert re.fullmatch(rf"postgresql\+asyncpg://{role}:[^@]+@postgres:5432/{spec.database}", owner_url)
        assert long_running["read_only"] is True
        assert long_running["cap_drop"] == ["ALL"]

    assert f"http://127.0.0.1:{spec.port}/health/ready" in " ".join(api["healthcheck"]["test"])
    assert api["ports"][0]["target"] == spec.port
    metrics = f"http://127.0.0.1:{spec.port + 1000}/metrics"
    assert metrics in " ".join(worker["healthcheck"]["test"])
    assert worker["environment"]["POSTLOAN_HEALTH_URL"] == metrics


def test_every_one_shot_is_awaited_by_a_long_running_service(compose_config: dict[str, Any]) -> None:
    # `docker compose up --wait` accepts an exited container only when something depends on it
    # with service_completed_successfully.
    services = compose_config["services"]
    one_shots = {name for name, s in services.items() if s.get("restart") == "no"}
    assert one_shots == {"topics", *(f"{s.name}-migrate" for s in SERVICES)}
    awaited = {
        dep
        for name, service in services.items()
        if name.endswith(LONG_RUNNING_SUFFIXES)
        for dep, condition in conditions(service).items()
        if condition == "service_completed_successfully"
    }
    assert one_shots <= awaited
    assert services["topics"]["command"] == ["postloan", "topics"]
    assert conditions(services["topics"]) == {"kafka": "service_healthy"}


def test_prometheus_scrapes_every_api_and_worker(deploy: ModuleType, compose_config: dict[str, Any]) -> None:
    prometheus = compose_config["services"]["prometheus"]
    mounts = {v["target"]: deploy.Path(v["source"]) for v in prometheus["volumes"] if v["type"] == "bind"}
    config = yaml.safe_load(mounts["/etc/prometheus/prometheus.yml"].read_text())
    assert mounts["/etc/prometheus/rules"] == deploy.DEPLOY / "prometheus" / "rules"
    targets = {
        job["job_name"]: {t for group in job["static_configs"] for t in group["targets"]}
        for job in config["scrape_configs"]
    }
    assert targets["postloan-api"] == {f"{s.name}-api:{s.port}" for s in SERVICES}
    assert targets["postloan-worker"] == {f"{s.name}-worker:{s.port + 1000}" for s in SERVICES}
    for target in targets["postloan-api"] | targets["postloan-worker"]:
        assert target.split(":")[0] in compose_config["services"]


def test_grafana_is_provisioned(deploy: ModuleType, compose_config: dict[str, Any]) -> None:
    grafana = compose_config["services"]["grafana"]
    mounts = {v["target"]: deploy.Path(v["source"]) for v in grafana["volumes"] if v["type"] == "bind"}
    provisioning = mounts["/etc/grafana/provisioning"]
    datasource = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((provisioning / "dashboards" / "postloan.yml").read_text())["providers"][0]
    assert mounts[provider["options"]["path"]] == deploy.DEPLOY / "grafana" / "dashboards"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (mounts[str(deploy.Path(home).parent)] / deploy.Path(home).name).is_file()


def test_every_bind_mount_exists(deploy: ModuleType, compose_config: dict[str, Any]) -> None:
    for name, service in compose_config["services"].items():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert deploy.Path(volume["source"]).exists(), f"{name}: {volume['source']} does not exist"
