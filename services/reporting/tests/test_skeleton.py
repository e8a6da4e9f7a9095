"""The reporting skeleton: migrations up and down, and the API starting against them."""

from __future__ import annotations

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from postloan_common.db import engine_scope
from postloan_common.devstack import DevStack
from postloan_common.migrations import downgrade, service_dir, upgrade
from postloan_reporting.main import create_app
from postloan_reporting.store.tables import metadata

pytestmark = pytest.mark.integration

PREFIX = "REPORTING_"


def _schema(connection):
    tables = set(inspect(connection).get_table_names())
    diff = compare_metadata(MigrationContext.configure(connection), metadata)
    return tables, diff


async def _inspect(url: str):
    async with engine_scope(url) as engine, engine.connect() as connection:
        return await connection.run_sync(_schema)


async def test_migrations_match_the_tables_and_go_down_again(database_url: str) -> None:
    directory = service_dir("postloan_reporting")

    upgrade(directory, database_url)
    tables, diff = await _inspect(database_url)
    assert {"outbox", "inbox", "alembic_version"} <= tables
    assert diff == []

    downgrade(directory, database_url, "base")
    tables, _ = await _inspect(database_url)
    assert tables <= {"alembic_version"}


async def test_api_is_ready_against_a_migrated_database(
    database_url: str, devstack: DevStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(service_dir("postloan_reporting"), database_url)
    monkeypatch.setenv(PREFIX + "DATABASE_URL", database_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", devstack.kafka_bootstrap)
    app = create_app()

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            ready = await client.get("/health/ready")
            assert ready.status_code == 200, ready.text
            assert (await client.get("/health/live")).status_code == 200
            openapi = await client.get("/openapi.json")
            assert openapi.status_code == 200
            assert openapi.json()["info"]["title"] == "postloan reporting"
