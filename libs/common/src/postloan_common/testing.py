"""pytest fixtures for real PostgreSQL and broker tests (loaded by the root conftest)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from postloan_common.db import drop_database, ensure_database, with_database
from postloan_common.devstack import DevStack, start_devstack
from postloan_common.messaging.admin import ensure_topics

TEST_JWT_SECRET = "test-secret-" + "x" * 40


@pytest.fixture(scope="session")
def devstack() -> Iterator[DevStack]:
    """PostgreSQL and a broker for the whole run: external when configured, else embedded."""
    stack = start_devstack()
    os.environ.setdefault("POSTLOAN_ENV", "test")
    os.environ.setdefault("POSTLOAN_JWT_SECRET", TEST_JWT_SECRET)
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
