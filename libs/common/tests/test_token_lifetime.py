"""Tokens may not live longer than the configured maximum; a small clock skew is forgiven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from conftest_keys import new_key_pair
from fastapi import APIRouter

from postloan_common.settings import ServiceSettings
from postloan_common.web import CurrentPrincipal, create_app
from postloan_dev.testing import app_client

SECRET, PUBLIC_KEY = new_key_pair()
router = APIRouter(prefix="/v1")
DB = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@router.get("/me")
async def me(principal: CurrentPrincipal) -> dict[str, str]:
    return {"sub": principal.subject}


@pytest.fixture
async def client():
    settings = ServiceSettings(service_name="test-token-lifetime", database_url=DB, POSTLOAN_JWT_PUBLIC_KEY=PUBLIC_KEY)
    async with app_client(create_app(settings=settings, title="t", routers=[router], check_broker=False)) as c:
        yield c


def _signed(*, iat: datetime, exp: datetime) -> dict[str, str]:
    claims = {"sub": "alice", "roles": [], "iat": iat, "exp": exp, "iss": "postloan", "aud": "postloan"}
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='EdDSA')}"}


async def test_far_future_expiry_is_refused(client):
    now = datetime.now(UTC)
    response = await client.get("/v1/me", headers=_signed(iat=now, exp=now + timedelta(days=365)))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_backdated_iat_cannot_stretch_the_lifetime(client):
    now = datetime.now(UTC)
    response = await client.get("/v1/me", headers=_signed(iat=now - timedelta(hours=1), exp=now + timedelta(hours=12)))
    assert response.status_code == 401


async def test_twelve_hours_is_accepted(client):
    now = datetime.now(UTC)
    assert (await client.get("/v1/me", headers=_signed(iat=now, exp=now + timedelta(hours=12)))).status_code == 200


async def test_clock_skew_within_the_leeway_is_accepted(client):
    now = datetime.now(UTC)
    # Minted by a host whose clock runs 20 s ahead, and one whose token expired 20 s ago by our clock.
    ahead = _signed(iat=now + timedelta(seconds=20), exp=now + timedelta(hours=1))
    just_expired = _signed(iat=now - timedelta(hours=1), exp=now - timedelta(seconds=20))
    assert (await client.get("/v1/me", headers=ahead)).status_code == 200
    assert (await client.get("/v1/me", headers=just_expired)).status_code == 200


async def test_skew_beyond_the_leeway_is_refused(client):
    now = datetime.now(UTC)
    expired = _signed(iat=now - timedelta(hours=1), exp=now - timedelta(seconds=90))
    future = _signed(iat=now + timedelta(seconds=90), exp=now + timedelta(hours=1))
    assert (await client.get("/v1/me", headers=expired)).status_code == 401
    assert (await client.get("/v1/me", headers=future)).status_code == 401
