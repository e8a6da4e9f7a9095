"""deploy/docker/Dockerfile, the one image recipe of every service: parse and lint (hadolint),
every COPY source exists and is not ignored, every workspace member's metadata is copied, and
the image runs what compose and Kubernetes expect. No Docker engine is needed."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from postloan_common.catalog import SERVICES, ServiceSpec

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy/docker/Dockerfile"
# Members another branch adds: the Dockerfile copies their metadata already, before they land.
PENDING_MEMBERS = {"libs/dev"}


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse(path: Path) -> list[Stage]:
    """Split a Dockerfile into stages of (INSTRUCTION, arguments), continuation lines joined."""
    stages: list[Stage] = []
    logical = re.sub(r"\\\n", " ", path.read_text())
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            parts = args.split()
            stages.append(Stage(base=parts[0], name=parts[2] if len(parts) > 2 else None))
        elif stages:
            stages[-1].instructions.append((keyword, args.strip()))
    return stages


def substitute(text: str, values: dict[str, str]) -> str:
    """Expand ${NAME} and $NAME as the builder would for the given build arguments."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: values.get(m[1] or m[2], m[0]), text)


def build_args(spec: ServiceSpec) -> dict[str, str]:
    return {
        "SERVICE": spec.name,
        "PACKAGE": project_name(spec),
        "MODULE": spec.package,
        "PORT": str(spec.port),
        "METRICS_PORT": str(spec.port + 1000),
    }


def dockerignore() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        if any(fnmatch.fnmatchcase(p, pattern) for p in prefixes):
            return True
        if pattern.startswith("**/") and any(fnmatch.fnmatchcase(part, bare) for part in parts):
            return True
    return False


def project_name(spec: ServiceSpec) -> str:
    data: dict[str, Any] = tomllib.loads((REPO / spec.directory / "pyproject.toml").read_text())
    return str(data["project"]["name"])


def copy_sources(spec: ServiceSpec) -> list[str]:
    sources = []
    for stage in parse(DOCKERFILE):
        for args in stage.all("COPY"):
            if "--from=" in args:
                continue
            words = [w for w in args.split() if not w.startswith("--")]
            sources += [substitute(source, build_args(spec)) for source in words[:-1]]
    return sources


def workspace_members() -> list[str]:
    root: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text())
    members = []
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        members += [str(p.relative_to(REPO)) for p in sorted(REPO.glob(pattern)) if (p / "pyproject.toml").is_file()]
    return members


def test_the_per_service_copies_are_gone() -> None:
    assert not list(REPO.glob("services/*/Dockerfile")), "one Dockerfile with build arguments, no copies"


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_copy_sources_exist_and_are_not_dockerignored(spec: ServiceSpec) -> None:
    patterns = dockerignore()
    sources = copy_sources(spec)
    for source in sources:
        if source.removesuffix("/pyproject.toml") in PENDING_MEMBERS:
            continue
        assert (REPO / source).exists(), f"COPY {source}: no such path in the repository"
        assert not ignored(source, patterns), f"COPY {source} is excluded by .dockerignore"
    assert f"services/{spec.name}" in sources
    assert len(sources) >= 4


def test_every_workspace_member_metadata_is_copied() -> None:
    # uv loads the whole workspace, so every member's pyproject.toml must be in the build stage.
    sources = set(copy_sources(SERVICES[0]))
    for member in {*workspace_members(), *PENDING_MEMBERS}:
        assert f"{member}/pyproject.toml" in sources, f"{member}/pyproject.toml is not copied"


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_image_is_multi_stage_locked_non_root_and_healthchecked(spec: ServiceSpec) -> None:
    build, runtime = parse(DOCKERFILE)
    assert build.name == "build"
    assert runtime.base == build.base, "both stages on the same Python, so the venv's interpreter path holds"
    assert {"SERVICE", "PACKAGE"} <= set(build.all("ARG"))
    assert {"MODULE", "PORT", "METRICS_PORT"} <= set(runtime.all("ARG"))
    sync = [substitute(args, build_args(spec)) for args in build.all("RUN") if "uv sync" in args]
    assert sync, "dependencies are installed with uv sync"
    for args in sync:
        assert "--frozen" in args
        assert "--no-dev" in args
        assert f"--package {project_name(spec)}" in args

    runtime_text = " ".join(args for _, args in runtime.instructions)
    assert "uv" not in re.findall(r"\b[\w.-]+\b", runtime_text), "uv stays in the build stage"
    assert not re.search(r"\b(gcc|build-essential|make)\b", runtime_text), "no build tools at run time"
    assert runtime.all("COPY") == ["--from=build --chown=root:root /app /app"]
    (user,) = runtime.all("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 10000, "numeric non-root user, so runAsNonRoot can verify it"
    (healthcheck,) = runtime.all("HEALTHCHECK")
    assert "POSTLOAN_HEALTH_URL" in healthcheck
    env = substitute(" ".join(runtime.all("ENV")), build_args(spec))
    assert f"POSTLOAN_HEALTH_URL=http://127.0.0.1:{spec.port}/health/live" in env
    assert "PATH=/app/.venv/bin:$PATH" in env


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_default_command_is_the_api_of_compose_and_kubernetes(
    spec: ServiceSpec, compose_source: dict[str, Any]
) -> None:
    runtime = parse(DOCKERFILE)[-1]
    env = dict(pair.split("=", 1) for pair in substitute(" ".join(runtime.all("ENV")), build_args(spec)).split())
    (cmd,) = runtime.all("CMD")
    shell, flag, script = json.loads(cmd)
    assert (shell, flag) == ("sh", "-c")
    expanded = substitute(script, env).removeprefix("exec ").replace('"', "").split()
    assert expanded == compose_source["services"][f"{spec.name}-api"]["command"]
    (expose,) = runtime.all("EXPOSE")
    assert substitute(expose, build_args(spec)).split() == [str(spec.port), str(spec.port + 1000)]


def test_migration_paths_exist_in_the_image_layout() -> None:
    # The image keeps the repository layout under /app: the migration command's alembic.ini and
    # the script_location it names must be there.
    for spec in SERVICES:
        ini = REPO / spec.directory / "alembic.ini"
        assert "script_location = %(here)s/migrations" in ini.read_text()
        assert (REPO / spec.directory / "migrations" / "env.py").is_file()


def test_hadolint_parses_and_passes(deploy: ModuleType, tool: Any) -> None:
    hadolint = tool("hadolint")
    deploy.run([hadolint, "--failure-threshold", "warning", str(DOCKERFILE)])
