"""`postloan outbox parked|retry`: list the rows the relay parked, send one again."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

import asyncpg

from postloan_common.catalog import SERVICES
from postloan_common.ops.migrate import DEFAULT_SERVER_URL, database_url, normalise_postgres_url

_LIST_PARKED = """
    SELECT id, event_id, event_type, topic, key, attempts, parked_at, parked_reason
    FROM outbox WHERE parked_at IS NOT NULL AND published_at IS NULL ORDER BY id
"""
# Clearing parked_at hands the row back to the relay, which publishes it on its next pass.
_RETRY = "UPDATE outbox SET parked_at = NULL, parked_reason = NULL WHERE id = $1 AND parked_at IS NOT NULL"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `outbox parked` and `outbox retry ID` to the command line."""
    outbox = commands.add_parser("outbox", help="inspect and re-drive a service's outbox")
    actions = outbox.add_subparsers(dest="outbox_action", required=True)
    parked = actions.add_parser("parked", help="list the rows the broker rejected for good")
    _service_argument(parked)
    parked.set_defaults(command=cmd_parked)
    retry = actions.add_parser("retry", help="hand one parked row back to the relay")
    _service_argument(retry)
    retry.add_argument("id", type=int, help="outbox row id (from `outbox parked`)")
    retry.set_defaults(command=cmd_retry)


def _service_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--service", required=True, choices=[s.name for s in SERVICES])


def service_dsn(service: str) -> str:
    """The plain asyncpg DSN of `service`'s database, resolved as `postloan migrate` does."""
    spec = next(s for s in SERVICES if s.name == service)
    server = normalise_postgres_url(os.environ.get("POSTGRES_URL") or DEFAULT_SERVER_URL)
    url = database_url(spec, server_url=server, environ=os.environ)
    return "postgresql://" + url.removeprefix("postgresql+asyncpg://")


async def list_parked(dsn: str) -> list[dict[str, object]]:
    """Every parked, unpublished row, oldest first, without its payload."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await conn.fetch(_LIST_PARKED)
    finally:
        await conn.close()
    return [{**dict(row), "event_id": str(row["event_id"]), "parked_at": row["parked_at"].isoformat()} for row in rows]


async def retry_parked(dsn: str, row_id: int) -> bool:
    """Unpark row `row_id`; False if it is not parked."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        status = await conn.execute(_RETRY, row_id)
        await conn.execute("SELECT pg_notify('postloan_outbox', '')")
    finally:
        await conn.close()
    return bool(status.endswith(" 1"))


def cmd_parked(args: argparse.Namespace) -> int:
    """Print one JSON line per parked row."""
    for row in asyncio.run(list_parked(service_dsn(args.service))):
        print(json.dumps(row, default=str))
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    """Unpark one row so the relay sends it again."""
    if asyncio.run(retry_parked(service_dsn(args.service), args.id)):
        print(f"outbox row {args.id} handed back to the relay")
        return 0
    print(f"outbox row {args.id} is not parked", file=sys.stderr)
    return 1
