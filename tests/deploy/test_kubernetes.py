"""deploy/k8s: every overlay builds with `kubectl kustomize`, validates against the Kubernetes
schemas (kubernetes-validate, strict), and runs what the services really serve."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import AliasChoices

from postloan_common.catalog import SERVICES, ServiceSpec
from postloan_common.settings import ServiceSettings

# The oldest Kubernetes still commonly run, and the newest the validator knows (its default).
KUBERNETES_VERSIONS = ("1.29.0", None)
IMAGE_ONLY_VARIABLES = {"POSTLOAN_HEALTH_URL"}


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def settings_variables(spec: ServiceSpec) -> set[str]:
    """Every environment variable the service's Settings reads."""
    module = __import__(f"{spec.package}.settings", fromlist=["Settings"])
    settings: type[ServiceSettings] = module.Settings
    names = set()
    for field_name, info in settings.model_fields.items():
        if isinstance(info.validation_alias, AliasChoices):
            names |= {str(c) for c in info.validation_alias.choices}
        else:
            names.add(f"{spec.env_prefix}{field_name}".upper())
    return names


def container_variables(container: dict[str, Any], objects: list[dict[str, Any]]) -> set[str]:
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        config_map = find(objects, "ConfigMap", source["configMapRef"]["name"])
        names |= set(config_map["data"])
    return names


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS, ids=lambda v: v or "newest")
@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_validates_against_kubernetes_schemas(
    deploy: ModuleType, tool: Callable[[str], str], kustomize_builds: dict[str, Path], overlay: str, version: str | None
) -> None:
    argv = [tool("kubernetes-validate"), "--strict", "--quiet"]
    if version:
        argv += ["--kubernetes-version", version]
    deploy.run([*argv, str(kustomize_builds[overlay])])


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_references_secrets_but_defines_none(
    k8s_objects: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    objects = k8s_objects[overlay]
    assert not [o for o in objects if o["kind"] == "Secret"]
    namespaces = {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"}
    assert namespaces == {"postloan-dev" if overlay == "dev" else "postloan"}


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_service_workloads(k8s_objects: dict[str, list[dict[str, Any]]], overlay: str, spec: ServiceSpec) -> None:
    objects = k8s_objects[overlay]
    api = find(objects, "Deployment", f"{spec.name}-api")
    worker = find(objects, "Deployment", f"{spec.name}-worker")
    job = find(objects, "Job", f"{spec.name}-migrate")
    image = pod_spec(api)["containers"][0]["image"]
    assert image.rsplit(":", 1)[0].endswith(f"postloan/{spec.name}")

    (api_c,) = pod_spec(api)["containers"]
    assert api_c["command"] == [
        "uvicorn", f"{spec.package}.main:create_app", "--factory", "--host", "0.0.0.0", "--port", str(spec.port)
    ]  # fmt: skip
    assert api_c["ports"] == [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}]
    assert api_c["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert api_c["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert api["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(spec.port)

    (worker_c,) = pod_spec(worker)["containers"]
    assert worker_c["command"] == ["python", "-m", f"{spec.package}.worker"]
    assert worker_c["ports"] == [{"name": "metrics", "containerPort": spec.port + 1000, "protocol": "TCP"}]
    assert worker_c["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert worker["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(spec.port + 1000)

    (job_c,) = pod_spec(job)["containers"]
    assert job_c["command"] == ["alembic", "-c", f"/app/services/{spec.name}/alembic.ini", "upgrade", "head"]
    assert pod_spec(job)["restartPolicy"] == "Never"

    accepted = settings_variables(spec) | IMAGE_ONLY_VARIABLES
    for obj, container in ((api, api_c), (worker, worker_c), (job, job_c)):
        pod = pod_spec(obj)
        assert container["image"] == image, "one image per service"
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] >= 10000
        assert pod["automountServiceAccountToken"] is False
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
        assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
        assert {"requests", "limits"} <= set(container["resources"])
        variables = container_variables(container, objects)
        unknown = variables - accepted
        assert not unknown, f"{obj['metadata']['name']} sets variables {spec.name} never reads: {sorted(unknown)}"
        secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
        # Migrations connect as the owner role, the services as the runtime role.
        url_key = "owner-url" if obj["kind"] == "Job" else "url"
        assert secrets == {
            "POSTLOAN_JWT_PUBLIC_KEY": {"name": "postloan-jwt", "key": "public-key"},
            f"{spec.env_prefix}DATABASE_URL": {"name": f"{spec.name}-database", "key": url_key},
        }


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_service_scaling_and_network(k8s_objects: dict[str, list[dict[str, Any]]], spec: ServiceSpec) -> None:
    objects = k8s_objects["prod"]
    service = find(objects, "Service", spec.name)
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/component": "api"}
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    hpa = find(objects, "HorizontalPodAutoscaler", f"{spec.name}-api")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{spec.name}-api"}
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    for component in ("api", "worker"):
        pdb = find(objects, "PodDisruptionBudget", f"{spec.name}-{component}")
        assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == component

    # Only this service's pods reach its database, and its pods reach no other database.
    guard = find(objects, "NetworkPolicy", f"{spec.name}-database")
    assert guard["spec"]["podSelector"] == {"matchLabels": {"postloan.io/database": spec.database}}
    (rule,) = guard["spec"]["ingress"]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/part-of": "postloan"}}}
    ]
    own = find(objects, "NetworkPolicy", spec.name)
    databases = [
        peer["podSelector"]["matchLabels"]["postloan.io/database"]
        for egress in own["spec"]["egress"]
        for peer in egress.get("to", [])
        if "postloan.io/database" in peer.get("podSelector", {}).get("matchLabels", {})
    ]
    assert databases == [spec.database]


def test_platform_config_turns_on_idempotence_and_creates_topics(k8s_objects: dict[str, list[dict[str, Any]]]) -> None:
    for overlay, objects in k8s_objects.items():
        platform = [
            o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("postloan-platform")
        ]
        assert len(platform) == 1, overlay
        assert platform[0]["data"]["KAFKA_IDEMPOTENT_PRODUCER"] == "true"
        topics = find(objects, "Job", "postloan-topics")
        assert pod_spec(topics)["containers"][0]["command"] == ["postloan", "topics"]
    prod = next(o for o in k8s_objects["prod"] if o["metadata"]["name"].startswith("postloan-platform"))
    assert int(prod["data"]["POSTLOAN_TOPIC_REPLICATION"]) >= 3
