"""deploy/postgres/runtime-grants.sql on a real PostgreSQL: after the crm migrations run as the
owner role, the runtime role may INSERT into audit_log but neither UPDATE nor DELETE it."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from postloan_common.migrations import upgrade

REPO = Path(__file__).resolve().parents[2]
GRANTS = REPO / "deploy/postgres/runtime-grants.sql"


def render(sql: str, values: dict[str, str]) -> str:
    """Expand psql's :"name" (identifier) and :'name' (literal) as `psql --set` does."""
    sql = re.sub(r':"(\w+)"', lambda m: '"' + values[m[1]].replace('"', '""') + '"', sql)
    return re.sub(r":'(\w+)'", lambda m: "'" + values[m[1]].replace("'", "''") + "'", sql)


def url_for(base: str, *, user: str, database: str) -> str:
    return (
        make_url(base)
        .set(drivername="postgresql", username=user, password=None, database=database)
        .render_as_string(hide_password=False)
    )


@pytest.fixture
def service_database() -> Iterator[dict[str, str]]:
    base = os.environ.get("POSTGRES_URL")
    if not base:
        pytest.skip("POSTGRES_URL is not set")
    suffix = uuid.uuid4().hex[:8]
    names = {"database": f"grants_{suffix}", "owner": f"owner_{suffix}", "runtime": f"runtime_{suffix}"}

    async def admin(statements: list[str], database: str | None = None) -> None:
        conn = await asyncpg.connect(
            base if database is None else url_for(base, user=make_url(base).username or "postgres", database=database)
        )
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin([
        f'CREATE ROLE "{names["owner"]}" LOGIN',
        f'CREATE ROLE "{names["runtime"]}" LOGIN',
        f'CREATE DATABASE "{names["database"]}" OWNER "{names["owner"]}"',
    ]))  # fmt: skip
    asyncio.run(admin([render(GRANTS.read_text(), names)], database=names["database"]))
    names["base"] = base
    try:
        yield names
    finally:
        asyncio.run(admin([
            f'DROP DATABASE IF EXISTS "{names["database"]}" WITH (FORCE)',
            f'DROP ROLE IF EXISTS "{names["runtime"]}"',
            f'DROP ROLE IF EXISTS "{names["owner"]}"',
        ]))  # fmt: skip


def test_runtime_role_appends_to_audit_log_but_cannot_rewrite_it(service_database: dict[str, str]) -> None:
    base, database = service_database["base"], service_database["database"]
    upgrade(REPO / "services/crm", url_for(base, user=service_database["owner"], database=database))

    async def as_runtime() -> None:
        conn = await asyncpg.connect(url_for(base, user=service_database["runtime"], database=database))
        try:
            await conn.execute("INSERT INTO audit_log (actor, action, subject) VALUES ('test', 'probe', 'c-1')")
            assert await conn.fetchval("SELECT count(*) FROM audit_log") == 1
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("UPDATE audit_log SET actor = 'forged'")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM audit_log")
            # Every other table stays writable: the default privileges covered the migrations' tables.
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'audit_log'"
            )
            assert tables
            for row in tables:
                assert await conn.fetchval(
                    "SELECT has_table_privilege($1, 'UPDATE') AND has_table_privilege($1, 'DELETE')",
                    f'public."{row["tablename"]}"',
                ), row["tablename"]
        finally:
            await conn.close()

    asyncio.run(as_runtime())
