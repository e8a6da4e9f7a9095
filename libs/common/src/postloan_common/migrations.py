"""Alembic glue shared by every service: the body of each `migrations/env.py` and programmatic upgrades."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from postloan_common.settings import ServiceSettings


def run_alembic(*, target_metadata: MetaData, settings_factory: Callable[[], ServiceSettings]) -> None:
    """Run the migrations of the calling env.py, offline (SQL script) or online (async engine)."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url") or settings_factory().database_url
    if context.is_offline_mode():
        context.configure(
            url=async_url(url),
            target_metadata=target_metadata,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    _run_coroutine(_run_online(async_url(url), target_metadata))


async def _run_online(url: str, target_metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_do_run_migrations, target_metadata)
    finally:
        await engine.dispose()


def _do_run_migrations(connection: Connection, target_metadata: MetaData) -> None:
    from alembic import context

    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_coroutine(coro: Coroutine[Any, Any, None]) -> None:
    """Run `coro` to completion, in a helper thread when this thread already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="alembic") as executor:
        executor.submit(asyncio.run, coro).result()


def async_url(url: str) -> str:
    """Return `url` with the asyncpg driver, whatever PostgreSQL scheme it came with."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def alembic_config(service_dir: Path, url: str) -> Config:
    """Return the Alembic config of the service in `service_dir`, aimed at `url`."""
    config = Config(str(service_dir / "alembic.ini"))
    config.set_main_option("script_location", str((service_dir / "migrations").resolve()))
    # ConfigParser interpolates '%', which URL-encoded passwords contain.
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return config


def upgrade(service_dir: Path, url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` with the migrations of the service in `service_dir`."""
    command.upgrade(alembic_config(service_dir, url), revision)


def downgrade(service_dir: Path, url: str, revision: str = "base") -> None:
    """Downgrade the database at `url` to `revision`."""
    command.downgrade(alembic_config(service_dir, url), revision)


def service_dir(package: str) -> Path:
    """Return the directory (holding alembic.ini) of the installed service `package`."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise LookupError(f"service package {package!r} is not installed")
    return Path(spec.origin).parents[2]
