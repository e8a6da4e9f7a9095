"""`postloan migrate` and `postloan topics`: create and migrate the service databases, create the topics."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Mapping, Sequence

from sqlalchemy.engine import make_url

from postloan_common.catalog import SERVICES, ServiceSpec, all_topics
from postloan_common.db import ensure_database, with_database
from postloan_common.logging import configure_logging, get_logger
from postloan_common.messaging.admin import DEFAULT_DLT_RETENTION_MS, ensure_topics
from postloan_common.migrations import service_dir, upgrade
from postloan_common.settings import ServiceSettings

log = get_logger("postloan.cli")

DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `migrate` and `topics` to the command line."""
    migrate = commands.add_parser("migrate", help="create the service databases and migrate them to head")
    migrate.add_argument("--service", choices=[s.name for s in SERVICES], help="only this service")
    migrate.set_defaults(command=cmd_migrate)

    topics = commands.add_parser("topics", help="create every topic on KAFKA_BOOTSTRAP_SERVERS")
    topics.set_defaults(command=cmd_topics)


def normalise_postgres_url(url: str) -> str:
    """Accept postgres://, postgresql:// or postgresql+asyncpg:// and return the asyncpg form."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def cmd_migrate(args: argparse.Namespace) -> int:
    """Create and migrate the databases; create the topics when a broker is configured."""
    configure_logging(service="postloan-cli", json=False)
    services = [s for s in SERVICES if args.service in (None, s.name)]
    server = os.environ.get("POSTGRES_URL") or DEFAULT_SERVER_URL
    migrate_services(services, server_url=normalise_postgres_url(server), environ=os.environ)
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        create_topics(os.environ["KAFKA_BOOTSTRAP_SERVERS"])
    return 0


def cmd_topics(_args: argparse.Namespace) -> int:
    """Create every topic of the platform."""
    configure_logging(service="postloan-cli", json=False)
    create_topics(ServiceSettings().kafka_bootstrap_servers)
    return 0


def database_url(spec: ServiceSpec, *, server_url: str, environ: Mapping[str, str]) -> str:
    """Return the service's own <PREFIX>DATABASE_URL if set, else its database on `server_url`."""
    own = environ.get(f"{spec.env_prefix}DATABASE_URL")
    return normalise_postgres_url(own) if own else with_database(server_url, spec.database)


def migrate_services(services: Sequence[ServiceSpec], *, server_url: str, environ: Mapping[str, str]) -> None:
    """Ensure each service's database exists, then upgrade it to head."""
    for spec in services:
        url = database_url(spec, server_url=server_url, environ=environ)
        database = make_url(url).database or spec.database
        try:
            asyncio.run(ensure_database(url, database))
        except Exception as exc:
            # A per-service role may not reach the `postgres` database; the upgrade tells if it's missing.
            log.warning("could not check the database exists", service=spec.name, error=repr(exc))
        upgrade(service_dir(spec.package), url)
        log.info("database migrated", service=spec.name, database=database)


def create_topics(bootstrap_servers: str) -> None:
    """Create every platform topic (and its dead-letter topic) that does not exist yet."""
    settings = ServiceSettings()
    asyncio.run(
        ensure_topics(
            bootstrap_servers,
            all_topics(),
            partitions=settings.kafka_topic_partitions,
            replication_factor=settings.kafka_replication_factor,
            dlt_retention_ms=int(os.environ.get("KAFKA_DLT_RETENTION_MS", DEFAULT_DLT_RETENTION_MS)),
        )
    )
