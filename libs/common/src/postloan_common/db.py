"""Async engine, session factory and the metadata conventions every service uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """Return a MetaData with the platform naming conventions."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    echo: bool = False,
    statement_timeout_ms: int = 30_000,
) -> AsyncEngine:
    """Create the async engine; called from a lifespan or worker start, never at import."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        echo=echo,
        # Bound parameters carry customers' names and phones; they stay out of errors and logs.
        hide_parameters=True,
        connect_args={
            "server_settings": {
                "application_name": make_url(url).database or "postloan",
                # Prepared statements are reused for the life of a connection; a generic plan made
                # while a table was small (a scan per key of a key list) would outlive its growth.
                "plan_cache_mode": "force_custom_plan",
                # A runaway query gives its connection back instead of holding it for ever.
                "statement_timeout": str(statement_timeout_ms),
            }
        },
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory bound to `engine`."""
    return async_sessionmaker(engine, expire_on_commit=False)


def sync_url(url: str) -> str:
    """Turn an asyncpg URL into the plain libpq form asyncpg.connect accepts."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    """Return `url` pointing at another database on the same server."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def ensure_database(server_url: str, database: str) -> bool:
    """Create `database` on the server if missing; return True when it was created."""
    import asyncpg

    conn = await asyncpg.connect(sync_url(with_database(server_url, "postgres")))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if exists:
            return False
        await conn.execute(f'CREATE DATABASE "{database}"')
        return True
    finally:
        await conn.close()


async def drop_database(server_url: str, database: str) -> None:
    """Drop `database`, disconnecting its sessions first."""
    import asyncpg

    conn = await asyncpg.connect(sync_url(with_database(server_url, "postgres")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def engine_scope(url: str, **kwargs: object) -> AsyncIterator[AsyncEngine]:
    """Yield an engine and dispose it afterwards."""
    engine = create_engine(url, **kwargs)  # type: ignore[arg-type]
    try:
        yield engine
    finally:
        await engine.dispose()


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under `session`'s transaction, for COPY and array-bound bulk statements."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None  # a live pooled connection always has its driver connection
    if not driver.is_in_transaction():
        # SQLAlchemy's asyncpg dialect sends BEGIN with the first statement it runs itself: raw
        # statements before that would each commit on their own, outside the session's transaction.
        await session.execute(text("SELECT"))
    return driver
