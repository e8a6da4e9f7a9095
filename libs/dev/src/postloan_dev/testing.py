"""pytest fixtures for real PostgreSQL and broker tests (loaded by the root conftest)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiokafka.structs import ConsumerRecord
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from postloan_common.db import drop_database, ensure_database, with_database
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.envelope import Envelope
from postloan_common.web import mint_token
from postloan_dev.devkeys import DEVELOPMENT_ONLY_JWT_PRIVATE_KEY
from postloan_dev.devstack import DevStack, start_devstack

# Tests sign with the development private key; POSTLOAN_ENV=test lets the services accept its public half.
# (The name is kept so `mint_token(secret=TEST_JWT_SECRET, ...)` reads as before.)
TEST_JWT_SECRET = DEVELOPMENT_ONLY_JWT_PRIVATE_KEY


def bearer_headers(default_role: str) -> Callable[..., dict[str, str]]:
    """`headers(role=default_role, sub="tester")`: Authorization headers signed with the test key."""

    def headers(role: str = default_role, sub: str = "tester") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(secret=TEST_JWT_SECRET, sub=sub, roles=[role])}"}

    return headers


@asynccontextmanager
async def app_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of `app` with its lifespan running; server errors come back as 500 answers."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def consumer_records(topic: str, envelopes: Sequence[Envelope], start: int = 0) -> list[ConsumerRecord]:
    """The envelopes as consumer records of partition 0 from offset `start`, keyed by subject."""
    return [
        ConsumerRecord(
            topic=topic,
            partition=0,
            offset=start + i,
            timestamp=0,
            timestamp_type=0,
            key=e.subject.encode(),
            value=e.to_bytes(),
            checksum=None,
            serialized_key_size=0,
            serialized_value_size=0,
            headers=(),
        )
        for i, e in enumerate(envelopes)
    ]


async def wait_until(
    predicate: Callable[[], Awaitable[Any]],
    *,
    what: str = "condition",
    timeout: float = 60.0,  # noqa: ASYNC109 - a deadline between polls; asyncio.timeout would cancel a query
    interval: float = 0.2,
) -> Any:
    """Poll `predicate` until it returns something truthy (returned), or fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (value := await predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)
    return value


def other_private_key() -> str:
    """A fresh Ed25519 private key (PEM) no service trusts: signs forged tokens in tests."""
    key = Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_key_of(private_pem: str) -> str:
    """The PEM public key that verifies tokens signed with `private_pem`."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="session", autouse=True)
def test_environment() -> None:
    """Every test process says POSTLOAN_ENV=test, so in-process apps trust the development public key."""
    os.environ.setdefault("POSTLOAN_ENV", "test")


@pytest.fixture(scope="session")
def devstack() -> Iterator[DevStack]:
    """PostgreSQL and a broker for the whole run: external when configured, else embedded."""
    stack = start_devstack()
    os.environ.setdefault("POSTLOAN_ENV", "test")
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture
async def database_url(devstack: DevStack) -> AsyncIterator[str]:
    """A fresh empty database, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    await ensure_database(devstack.postgres_url, name)
    try:
        yield with_database(devstack.postgres_url, name)
    finally:
        await drop_database(devstack.postgres_url, name)


@pytest.fixture
def unique_topic() -> Callable[[str], str]:
    """Return a function that makes a topic name unique to this test."""
    suffix = uuid.uuid4().hex[:8]
    return lambda base: f"{base}.{suffix}"


@pytest.fixture
def make_topics(devstack: DevStack) -> Callable[..., asyncio.Future[list[str]]]:
    """Create topics (with their dead-letter topics) before a test uses them."""

    def create(*topics: str, partitions: int = 1) -> asyncio.Future[list[str]]:
        wanted = [*topics, *(f"{t}.dlt" for t in topics)]
        return asyncio.ensure_future(ensure_topics(devstack.kafka_bootstrap, wanted, partitions=partitions))

    return create


@pytest.fixture(scope="session")
def _migrated_templates() -> dict[str, str]:
    return {}


@pytest.fixture
async def migrated_database(
    devstack: DevStack, _migrated_templates: dict[str, str]
) -> AsyncIterator[Callable[[str], asyncio.Future[str]]]:
    """Return a factory: a fresh database migrated to head for a service package, dropped afterwards.

    The migrations run once per service per session into a template; each test copies it.
    """
    from postloan_common.migrations import service_dir, upgrade

    created: list[str] = []

    async def make(package: str) -> str:
        template = _migrated_templates.get(package)
        if template is None:
            template = f"tpl_{package}_{uuid.uuid4().hex[:6]}"
            await ensure_database(devstack.postgres_url, template)
            await asyncio.to_thread(upgrade, service_dir(package), with_database(devstack.postgres_url, template))
            _migrated_templates[package] = template
        name = f"t_{package[:20]}_{uuid.uuid4().hex[:10]}"
        await _create_from_template(devstack.postgres_url, name, template)
        created.append(name)
        return with_database(devstack.postgres_url, name)

    yield make  # type: ignore[misc]
    for name in created:
        await drop_database(devstack.postgres_url, name)


async def _create_from_template(server_url: str, name: str, template: str) -> None:
    import asyncpg

    from postloan_common.db import sync_url

    conn = await asyncpg.connect(sync_url(with_database(server_url, "postgres")))
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()
