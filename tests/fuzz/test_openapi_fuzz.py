"""Every REST operation of every service, fuzzed from its own OpenAPI document with schemathesis.

For each operation hypothesis generates schema-valid (positive) and schema-invalid (negative)
requests, sent with an admin token to the in-process ASGI app on a freshly migrated database.
Every response must be a non-5xx whose status code, media type and body the document declares.

Generation is derandomized and the hypothesis example database is off, so a CI run is
reproducible; shrinking is skipped and distinct failures are collected instead of stopping at
the first, so one run names every problem of an operation.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.openapi import from_dict
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from postloan_common.catalog import SERVICES, ServiceSpec
from postloan_common.db import drop_database, ensure_database, with_database
from postloan_common.migrations import service_dir, upgrade
from postloan_common.web import mint_token
from postloan_dev.devstack import DevStack
from postloan_dev.testing import TEST_JWT_SECRET

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ADMIN = {"Authorization": f"Bearer {mint_token(secret=TEST_JWT_SECRET, sub='fuzz', roles=['admin'])}"}

# Operations known not to conform yet: (service, METHOD, path) -> the problem. Each is a strict
# xfail, so a fix that makes one pass fails the run until its entry is removed here.
KNOWN_PROBLEMS: dict[tuple[str, str, str], str] = {}


@contextmanager
def _service_env(spec: ServiceSpec, *, database_url: str, kafka: str) -> Iterator[None]:
    """The environment a service's Settings() reads, for the duration of create_app() only."""
    env = {
        spec.env_prefix + "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "POSTLOAN_ENV": "test",
        "POSTLOAN_LOG_LEVEL": "WARNING",
    }
    with mock.patch.dict(os.environ, env):
        yield


def _create_app(spec: ServiceSpec, *, database_url: str, kafka: str) -> FastAPI:
    with _service_env(spec, database_url=database_url, kafka=kafka):
        app: FastAPI = importlib.import_module(f"{spec.package}.main").create_app()
    return app


def _operations() -> list[Any]:
    """(service, METHOD, path) of every documented operation, read without a database or broker."""
    params = []
    for spec in SERVICES:
        app = _create_app(spec, database_url="postgresql+asyncpg://fuzz@127.0.0.1:1/none", kafka="127.0.0.1:1")
        for path, item in app.openapi()["paths"].items():
            for method in item:
                key = (spec.name, method.upper(), path)
                marks = [pytest.mark.xfail(reason=KNOWN_PROBLEMS[key], strict=True)] if key in KNOWN_PROBLEMS else []
                params.append(
                    pytest.param(spec, method.upper(), path, id=f"{spec.name}:{method.upper()} {path}", marks=marks)
                )
    return params


@dataclass
class RunningService:
    app: FastAPI
    schema: Any
    # Path parameter values naming records that exist, so generated bodies and queries reach the
    # handlers' logic instead of stopping at 404.
    known: dict[str, str] = field(default_factory=dict)


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def _seed_repayment_monitor(client: Any) -> dict[str, str]:
    loan = {
        "loan_id": "fuzz-loan-1",
        "customer_id": "fuzz-customer-1",
        "product": "fuzz-product",
        "branch": "fuzz-branch",
        "currency": "CNY",
        "principal": "12000.00",
        "annual_rate": "0.12",
        "disbursed_on": "2026-01-15",
        "terms": {"method": "annuity", "months": 12, "first_due_date": "2026-02-15"},
    }
    _created(client.post("/v1/loans", json=loan, headers=ADMIN))
    repayment = {"repayment_id": "fuzz-rp-1", "amount": "100.00", "value_date": "2026-02-10", "channel": "fuzz"}
    _created(client.post("/v1/loans/fuzz-loan-1/repayments", json=repayment, headers=ADMIN))
    return {"loan_id": "fuzz-loan-1", "repayment_id": "fuzz-rp-1", "code": "fuzz-product"}


def _seed_risk_alert(client: Any) -> dict[str, str]:
    models = _created(client.get("/v1/models", headers=ADMIN))
    known = {"rule_id": "dpd-over-30", "loan_id": "fuzz-loan-1", "customer_id": "fuzz-customer-1"}
    versions = [m.get("version") for m in models.get("items", []) if m.get("version")]
    return known | ({"version": str(versions[0])} if versions else {})


def _seed_crm(client: Any) -> dict[str, str]:
    customer = {"customer_id": "fuzz-customer-1", "name": "Fuzz Customer", "national_id": "110101199003070000"}
    _created(client.post("/v1/customers", json=customer, headers=ADMIN))
    ticket = {"customer_id": "fuzz-customer-1", "kind": "complaint", "subject": "fuzz"}
    created = _created(client.post("/v1/tickets", json=ticket, headers=ADMIN))
    return {"customer_id": "fuzz-customer-1", "ticket_id": str(created["ticket_id"]), "agent_id": "fuzz-agent"}


SEEDS: dict[str, Callable[[Any], dict[str, str]]] = {
    "repayment-monitor": _seed_repayment_monitor,
    "risk-alert": _seed_risk_alert,
    "crm": _seed_crm,
}


def _seed(service: RunningService, name: str) -> None:
    if name in SEEDS:
        with asgi.get_client(service.app) as client:
            service.known = SEEDS[name](client)


@pytest.fixture(scope="session")
async def running_services(
    devstack: DevStack,
) -> AsyncIterator[Callable[[ServiceSpec], asyncio.Future[RunningService]]]:
    """Per service, once a session: a migrated database and the app, started lazily on first use."""
    started: dict[str, RunningService] = {}
    databases: list[str] = []

    async def start(spec: ServiceSpec) -> RunningService:
        if spec.name not in started:
            name = f"fuzz_{spec.package[:20]}_{uuid.uuid4().hex[:8]}"
            await ensure_database(devstack.postgres_url, name)
            databases.append(name)
            url = with_database(devstack.postgres_url, name)
            await asyncio.to_thread(upgrade, service_dir(spec.package), url)
            app = _create_app(spec, database_url=url, kafka=devstack.kafka_bootstrap)
            service = RunningService(app=app, schema=from_dict(app.openapi()))
            await asyncio.to_thread(_seed, service, spec.name)
            started[spec.name] = service
        return started[spec.name]

    yield start  # type: ignore[misc]
    # The apps run their lifespans on schemathesis' own event loop thread; end them there.
    await asyncio.to_thread(asgi.shutdown_lifespans)
    for name in databases:
        await drop_database(devstack.postgres_url, name)


def _fuzz(service: RunningService, method: str, path: str) -> list[str]:
    """Run every generation mode against one operation; return one line per distinct failure."""
    operation = service.schema[path][method]
    found: dict[str, str] = {}
    names = [p.name for p in operation.path_parameters]
    passes: list[tuple[GenerationMode, int, dict[str, str] | None]] = [(m, n, None) for m, n in EXAMPLES.items()]
    if names and all(n in service.known for n in names):
        passes.append(
            (GenerationMode.POSITIVE, EXAMPLES[GenerationMode.POSITIVE], {n: service.known[n] for n in names})
        )
    with asgi.get_client(service.app) as client:
        for mode, examples, path_parameters in passes:

            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
            def run(case: Any) -> None:
                response = case.call(session=client, headers=ADMIN)
                try:
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as group:
                    for failure in group.exceptions:
                        _record(found, failure, case, response)

            try:
                run()
            except Unsatisfiable:
                # No request can break a schema without inputs (e.g. GET /health/live).
                if mode is not GenerationMode.NEGATIVE:
                    raise
    return list(found.values())


def _record(found: dict[str, str], failure: Failure, case: Any, response: Any, *, where: str = "") -> None:
    title = getattr(failure, "title", type(failure).__name__)
    key = f"{title}:{response.status_code}:{where}"
    if key not in found:
        body = response.text[:600]
        found[key] = (
            f"{title} (HTTP {response.status_code})\n    {failure}\n    request: {case.as_curl_command()}\n    body: {body}"
        )


@pytest.mark.parametrize(("spec", "method", "path"), _operations())
async def test_operation_conforms_to_its_schema(spec: ServiceSpec, method: str, path: str, running_services) -> None:
    service = await running_services(spec)
    failures = await asyncio.to_thread(_fuzz, service, method, path)
    assert not failures, f"{method} {path} on {spec.name}:\n" + "\n".join(failures)


def _accepts_text(schema: dict[str, Any]) -> bool:
    options = schema.get("anyOf", [schema])
    return any(option.get("type") == "string" and "enum" not in option for option in options)


def _nul_probes(service: RunningService) -> list[str]:
    """Send a NUL in each path and each text query parameter alone (hypothesis rarely generates one)."""
    found: dict[str, str] = {}
    with asgi.get_client(service.app) as client:
        for path, item in service.app.openapi()["paths"].items():
            for method, spec in item.items():
                parameters = spec.get("parameters", [])
                filler = {p["name"]: "x-1" for p in parameters if p["in"] == "path"}
                probes = [({**filler, p["name"]: "\x00"}, {}) for p in parameters if p["in"] == "path"]
                probes += [
                    (filler, {p["name"]: "a\x00b"})
                    for p in parameters
                    if p["in"] == "query" and _accepts_text(p.get("schema", {}))
                ]
                operation = service.schema[path][method.upper()]
                for path_parameters, query in probes:
                    case = operation.Case(path_parameters=path_parameters, query=query)
                    response = case.call(session=client, headers=ADMIN)
                    try:
                        case.validate_response(response, checks=CHECKS)
                    except FailureGroup as group:
                        for failure in group.exceptions:
                            _record(found, failure, case, response, where=f"{method} {path} {query}")
    return list(found.values())


@pytest.mark.parametrize("spec", SERVICES, ids=[s.name for s in SERVICES])
async def test_nul_in_path_and_query_is_a_client_error(spec: ServiceSpec, running_services) -> None:
    service = await running_services(spec)
    failures = await asyncio.to_thread(_nul_probes, service)
    assert not failures, f"{spec.name}:\n" + "\n".join(failures)
