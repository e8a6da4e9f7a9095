"""Bearer authentication and role checks against a real app."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Annotated

import httpx
import pytest
from conftest_keys import new_key_pair
from fastapi import APIRouter, Depends

from postloan_common.settings import ServiceSettings
from postloan_common.web import (
    CurrentPrincipal,
    Principal,
    Role,
    can_read_pii,
    create_app,
    mint_token,
    require_roles,
)
from postloan_dev.testing import app_client

SECRET, PUBLIC_KEY = new_key_pair()  # the issuer's private key; the service holds only PUBLIC_KEY
router = APIRouter(prefix="/v1")


@router.get("/me")
async def me(principal: CurrentPrincipal) -> dict[str, object]:
    return {"sub": principal.subject, "roles": sorted(principal.roles), "pii": can_read_pii(principal)}


@router.get("/cases")
async def cases(
    principal: Annotated[Principal, Depends(require_roles(Role.COLLECTOR, Role.SUPERVISOR))],
) -> dict:
    return {"sub": principal.subject}


@pytest.fixture
async def client():
    settings = ServiceSettings(
        service_name="test-auth",
        database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        # The aliases are read, not the field names; an explicit production environment takes a real key.
        POSTLOAN_JWT_PUBLIC_KEY=PUBLIC_KEY,
        POSTLOAN_ENV="production",
    )
    assert settings.jwt_verification_key() == PUBLIC_KEY
    async with app_client(create_app(settings=settings, title="t", routers=[router], check_broker=False)) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token(*roles: str, **kwargs) -> str:
    return mint_token(secret=SECRET, sub="alice", roles=roles, **kwargs)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


async def test_no_token_is_401(client):
    assert_unauthorized(await client.get("/v1/me"))


async def test_garbage_token_is_401(client):
    assert_unauthorized(await client.get("/v1/me", headers=bearer("not.a.jwt")))


async def test_valid_token_is_200(client):
    response = await client.get("/v1/me", headers=bearer(token("collector")))
    assert response.status_code == 200
    assert response.json() == {"sub": "alice", "roles": ["collector"], "pii": False}


async def test_expired_token_is_401(client):
    response = await client.get("/v1/me", headers=bearer(token("collector", ttl=timedelta(seconds=-120))))
    assert_unauthorized(response)
    assert "expired" in response.json()["detail"]


async def test_alg_none_token_is_401(client):
    valid = token("admin")
    claims = json.loads(base64.urlsafe_b64decode(valid.split(".")[1] + "=="))
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert_unauthorized(await client.get("/v1/me", headers=bearer(unsigned)))


async def test_other_secret_is_401(client):
    forged = mint_token(secret=new_key_pair()[0], sub="mallory", roles=["admin"])
    assert_unauthorized(await client.get("/v1/me", headers=bearer(forged)))


async def test_other_algorithm_is_401(client):
    hs384 = mint_token(secret="s" * 64, sub="alice", roles=["admin"], algorithm="HS384")
    assert_unauthorized(await client.get("/v1/me", headers=bearer(hs384)))


async def test_wrong_audience_or_issuer_is_401(client):
    assert_unauthorized(await client.get("/v1/me", headers=bearer(token("admin", audience="other"))))
    assert_unauthorized(await client.get("/v1/me", headers=bearer(token("admin", issuer="other"))))


async def test_wrong_role_is_403(client):
    response = await client.get("/v1/cases", headers=bearer(token("analyst")))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert "collector" in body["detail"]
    assert "supervisor" in body["detail"]


async def test_required_role_passes(client):
    response = await client.get("/v1/cases", headers=bearer(token("supervisor")))
    assert response.status_code == 200


async def test_admin_passes_any_role_check(client):
    response = await client.get("/v1/cases", headers=bearer(token("admin")))
    assert response.status_code == 200
    assert (await client.get("/v1/me", headers=bearer(token("admin")))).json()["pii"] is True


async def test_unknown_roles_are_ignored(client):
    response = await client.get("/v1/me", headers=bearer(token("wizard", "analyst")))
    assert response.status_code == 200
    assert response.json()["roles"] == ["analyst"]
    forbidden = await client.get("/v1/cases", headers=bearer(token("wizard")))
    assert forbidden.status_code == 403


def test_permissions_come_from_roles():
    assert Principal.of(subject="s", roles=["system"]).has("pii:read")
    assert Principal.of(subject="s", roles=["supervisor"]).has("pii:read")
    assert not Principal.of(subject="s", roles=["collector", "analyst", "risk_officer"]).has("pii:read")


def test_require_roles_rejects_unknown_role_names():
    with pytest.raises(ValueError):
        require_roles("wizard")
