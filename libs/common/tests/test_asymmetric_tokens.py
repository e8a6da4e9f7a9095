"""Services verify tokens with a public key or a JWKS URL and trust the development key only in development (issue 13, item 11)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from conftest_keys import new_key_pair
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from fastapi import APIRouter
from pydantic import ValidationError

from postloan_common.settings import DEVELOPMENT_JWT_PUBLIC_KEY, ServiceSettings
from postloan_common.web import CurrentPrincipal, create_app, mint_token
from postloan_dev.devkeys import DEVELOPMENT_ONLY_JWT_PRIVATE_KEY

router = APIRouter(prefix="/v1")
DB = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@router.get("/me")
async def me(principal: CurrentPrincipal) -> dict[str, str]:
    return {"sub": principal.subject}


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test says its environment itself; the session's POSTLOAN_ENV=test must not leak in."""
    for name in ("POSTLOAN_ENV", "POSTLOAN_JWT_PUBLIC_KEY", "POSTLOAN_JWT_JWKS_URL", "POSTLOAN_JWT_ALGORITHM"):
        monkeypatch.delenv(name, raising=False)


async def _status(settings: ServiceSettings, token: str) -> int:
    app = create_app(settings=settings, title="t", routers=[router], check_broker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def _dev_token() -> str:
    return mint_token(secret=DEVELOPMENT_ONLY_JWT_PRIVATE_KEY, sub="dev", roles=["admin"])


def test_the_development_public_key_is_refused_without_an_explicit_development_environment() -> None:
    with pytest.raises(ValidationError, match="development key"):
        ServiceSettings(POSTLOAN_JWT_PUBLIC_KEY=DEVELOPMENT_JWT_PUBLIC_KEY)
    with pytest.raises(ValidationError, match="development key"):
        ServiceSettings(POSTLOAN_JWT_PUBLIC_KEY=DEVELOPMENT_JWT_PUBLIC_KEY, POSTLOAN_ENV="production")
    with pytest.raises(ValueError, match="POSTLOAN_JWT_PUBLIC_KEY"):
        ServiceSettings().jwt_verification_key()  # no key, no environment: nothing is trusted


def test_development_and_test_environments_default_to_the_development_public_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ServiceSettings(POSTLOAN_ENV="development").jwt_verification_key() == DEVELOPMENT_JWT_PUBLIC_KEY
    monkeypatch.setenv("POSTLOAN_ENV", "test")
    assert ServiceSettings().jwt_verification_key() == DEVELOPMENT_JWT_PUBLIC_KEY


def test_symmetric_algorithms_are_refused_in_settings() -> None:
    with pytest.raises(ValidationError, match="jwt_algorithm"):
        ServiceSettings(POSTLOAN_JWT_ALGORITHM="HS256", POSTLOAN_ENV="development")


async def test_an_api_without_a_key_outside_development_does_not_start() -> None:
    app = create_app(settings=ServiceSettings(database_url=DB), title="t", routers=[router])
    with pytest.raises(ValueError, match="POSTLOAN_JWT_PUBLIC_KEY"):
        async with app.router.lifespan_context(app):
            pass


async def test_a_production_service_refuses_tokens_signed_with_the_development_key() -> None:
    _private, public = new_key_pair()
    settings = ServiceSettings(database_url=DB, POSTLOAN_ENV="production", POSTLOAN_JWT_PUBLIC_KEY=public)
    assert await _status(settings, _dev_token()) == 401
    assert await _status(ServiceSettings(database_url=DB, POSTLOAN_ENV="development"), _dev_token()) == 200


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_an_hmac_token_keyed_with_the_public_key_is_refused() -> None:
    """The classic algorithm confusion: whoever has the public key signs HS256 with it."""
    _private, public = new_key_pair()
    now = int(datetime.now(UTC).timestamp())
    claims = {"sub": "eve", "roles": ["admin"], "iat": now, "exp": now + 60, "iss": "postloan", "aud": "postloan"}
    signing_input = f"{_b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(public.encode(), signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{_b64(signature)}"
    settings = ServiceSettings(database_url=DB, POSTLOAN_ENV="production", POSTLOAN_JWT_PUBLIC_KEY=public)
    assert await _status(settings, forged) == 401


@pytest.fixture
def jwks_url() -> Iterator[tuple[str, str]]:
    """A JWKS endpoint serving one fresh public key; yields (url, the matching private PEM)."""
    private, _public = new_key_pair()
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(load_pem_private_key(private.encode(), None).public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "EdDSA"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json", private
    finally:
        server.shutdown()


async def test_a_service_verifies_with_the_keys_of_a_jwks_url(jwks_url: tuple[str, str]) -> None:
    url, private = jwks_url
    now = datetime.now(UTC)
    claims = {
        "sub": "alice",
        "roles": [],
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": "postloan",
        "aud": "postloan",
    }
    token = jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": "k1"})
    settings = ServiceSettings(database_url=DB, POSTLOAN_ENV="production", POSTLOAN_JWT_JWKS_URL=url)
    assert await _status(settings, token) == 200
    assert await _status(settings, _dev_token()) == 401
