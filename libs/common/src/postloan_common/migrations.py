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


def upgrade_messaging() -> None:
    """Create the outbox (with its notify trigger) and inbox: the body of every service's frozen 0001 migration."""
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql

    from postloan_common.messaging.tables import NOTIFY_TRIGGER_DDL

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("headers", postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("event_id", name="uq_outbox_event_id"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL"))
    op.create_index(
        "ix_outbox_published_at",
        "outbox",
        ["published_at"],
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    for statement in NOTIFY_TRIGGER_DDL:
        op.execute(statement)

    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    )


def downgrade_messaging() -> None:
    """Drop what `upgrade_messaging` created."""
    from alembic import op

    from postloan_common.messaging.tables import NOTIFY_TRIGGER_DROP

    op.drop_table("inbox")
    for statement in NOTIFY_TRIGGER_DROP:
        op.execute(statement)
    op.drop_index("ix_outbox_published_at", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")


def upgrade_outbox_parking() -> None:
    """Add the parking columns to the outbox: the body of every service's frozen outbox-parking migration."""
    import sqlalchemy as sa
    from alembic import op

    op.add_column("outbox", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("outbox", sa.Column("parked_reason", sa.Text(), nullable=True))


def downgrade_outbox_parking() -> None:
    """Drop what `upgrade_outbox_parking` added."""
    from alembic import op

    op.drop_column("outbox", "parked_reason")
    op.drop_column("outbox", "parked_at")
