"""Every service: migrations match its tables and go down again, and its API starts against them."""

from __future__ import annotations

import importlib

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from postloan_common.catalog import CONNECTORS, SERVICES, ServiceSpec
from postloan_common.db import engine_scope
from postloan_common.migrations import downgrade, service_dir, upgrade
from postloan_dev.devstack import DevStack

pytestmark = pytest.mark.integration
# The optional connectors have the same skeleton as the services.
SPECS = (*SERVICES, *CONNECTORS)
IDS = [spec.name for spec in SPECS]


async def _inspect(url: str, metadata):
    def schema(connection):
        tables = set(inspect(connection).get_table_names())
        return tables, compare_metadata(MigrationContext.configure(connection), metadata)

    async with engine_scope(url) as engine, engine.connect() as connection:
        return await connection.run_sync(schema)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_migrations_match_the_tables_and_go_down_again(spec: ServiceSpec, database_url: str) -> None:
    metadata = importlib.import_module(f"{spec.package}.store.tables").metadata
    directory = service_dir(spec.package)

    upgrade(directory, database_url)
    tables, diff = await _inspect(database_url, metadata)
    assert {"outbox", "inbox", "alembic_version"} <= tables
    assert diff == []

    downgrade(directory, database_url, "base")
    tables, _ = await _inspect(database_url, metadata)
    assert tables <= {"alembic_version"}


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_api_is_ready_against_a_migrated_database(
    spec: ServiceSpec, database_url: str, devstack: DevStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(service_dir(spec.package), database_url)
    monkeypatch.setenv(spec.env_prefix + "DATABASE_URL", database_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
    app = importlib.import_module(f"{spec.package}.main").create_app()

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            ready = await client.get("/health/ready")
            assert ready.status_code == 200, ready.text
            assert (await client.get("/health/live")).status_code == 200
            openapi = await client.get("/openapi.json")
            assert openapi.status_code == 200
            assert openapi.json()["info"]["title"] == f"postloan {spec.name}"
