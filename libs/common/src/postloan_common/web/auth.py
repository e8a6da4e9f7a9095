"""JWT bearer authentication, platform roles and the permissions derived from them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, cast

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from postloan_common.settings import JWT_ALGORITHMS, ServiceSettings
from postloan_common.web.deps import AppSettings
from postloan_common.web.problems import ProblemError


class Role(StrEnum):
    SYSTEM = "system"
    COLLECTOR = "collector"
    SUPERVISOR = "supervisor"
    RISK_OFFICER = "risk_officer"
    ANALYST = "analyst"
    ADMIN = "admin"
    COMPLIANCE = "compliance"
    # 客户经理: the relationship manager who owns a customer
    RELATIONSHIP_MANAGER = "relationship_manager"
    # 委外催收机构: an outside collection agency; its token's subject is the agency id, and it sees
    # only the cases placed with it, never personal data in clear (no pii:read).
    AGENCY = "agency"


class Permission(StrEnum):
    PII_READ = "pii:read"


# The one place permissions are granted; admin gets every permission on top of this table.
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.SYSTEM: frozenset({Permission.PII_READ}),
    Role.SUPERVISOR: frozenset({Permission.PII_READ}),
    # Compliance reviews complaints and consent against the real contact data, and the relationship
    # manager phones their own customers; scoping the manager to "their" customers is the crm's job.
    Role.COMPLIANCE: frozenset({Permission.PII_READ}),
    Role.RELATIONSHIP_MANAGER: frozenset({Permission.PII_READ}),
    Role.ADMIN: frozenset(Permission),
}

_ROLE_NAMES = frozenset(Role)
_REQUIRED_CLAIMS = ["sub", "exp", "iat", "iss", "aud"]
_bearer = HTTPBearer(auto_error=False, description="JWT minted by `postloan token`")


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    subject: str
    roles: frozenset[Role]
    permissions: frozenset[Permission]

    @classmethod
    def of(cls, *, subject: str, roles: Iterable[str]) -> Principal:
        """Build a principal from raw role names, ignoring names that are not roles."""
        known = frozenset(Role(r) for r in roles if r in _ROLE_NAMES)
        granted = frozenset(p for role in known for p in ROLE_PERMISSIONS.get(role, ()))
        return cls(subject=subject, roles=known, permissions=granted)

    @property
    def is_admin(self) -> bool:
        """Whether the caller is an administrator."""
        return Role.ADMIN in self.roles

    def has(self, permission: str) -> bool:
        """Whether the caller holds `permission`."""
        return permission in self.permissions

    def has_any_role(self, roles: Iterable[Role | str]) -> bool:
        """Whether the caller holds one of `roles`; admin always does."""
        return self.is_admin or any(role in self.roles for role in roles)


def mint_token(
    *,
    secret: str,
    sub: str,
    roles: Sequence[str],
    ttl: timedelta = timedelta(hours=12),
    issuer: str = "postloan",
    audience: str = "postloan",
    algorithm: str = "EdDSA",
) -> str:
    """Sign a token for `sub` with `roles`; `secret` is the PEM private key (services never hold one)."""
    if algorithm.lower() == "none":
        raise ValueError("unsigned tokens are not allowed")
    now = datetime.now(UTC)
    claims = {"sub": sub, "roles": list(roles), "iat": now, "exp": now + ttl, "iss": issuer, "aud": audience}
    return jwt.encode(claims, secret, algorithm=algorithm)


def decode_token(
    token: str,
    *,
    key: Any,
    algorithm: str,
    issuer: str,
    audience: str,
    max_lifetime: timedelta = timedelta(hours=12),
    leeway: timedelta = timedelta(seconds=30),
) -> dict[str, Any]:
    """Verify signature, algorithm, expiry, issuer, audience and lifetime, and return the claims."""
    if algorithm not in JWT_ALGORITHMS:
        raise jwt.InvalidAlgorithmError(f"only {sorted(JWT_ALGORITHMS)} tokens are accepted")
    claims = jwt.decode(
        token,
        key,
        algorithms=[algorithm],
        issuer=issuer,
        audience=audience,
        leeway=leeway,
        options={"require": _REQUIRED_CLAIMS},
    )
    _refuse_long_lived(claims, max_lifetime=max_lifetime, leeway=leeway)
    return claims


def _refuse_long_lived(claims: Mapping[str, Any], *, max_lifetime: timedelta, leeway: timedelta) -> None:
    """A stolen token is only worth as much as its lifetime, so far-future expiries are refused."""
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int | float) or not isinstance(iat, int | float):
        raise jwt.InvalidTokenError("exp and iat must be numbers")
    now = datetime.now(UTC).timestamp()
    limit = max_lifetime.total_seconds()
    if exp - iat > limit or exp - now > limit + leeway.total_seconds():
        raise jwt.InvalidTokenError(f"the token lives longer than {max_lifetime}")


@dataclass
class TokenVerifier:
    """Verifies bearer tokens with a public key or the keys of a JWKS URL; built once per app."""

    algorithm: str
    issuer: str
    audience: str
    max_lifetime: timedelta
    leeway: timedelta
    public_key: str | None = None
    jwks: jwt.PyJWKClient | None = None

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> TokenVerifier:
        """The verifier `settings` describe; raises outside development/test when no key is configured."""
        key = settings.jwt_verification_key()
        return cls(
            algorithm=settings.jwt_algorithm,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            max_lifetime=timedelta(hours=settings.jwt_max_lifetime_hours),
            leeway=timedelta(seconds=settings.jwt_leeway_seconds),
            public_key=key,
            jwks=jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True) if settings.jwt_jwks_url else None,
        )

    async def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`, or a jwt.PyJWTError."""
        if self.jwks is not None:
            # PyJWKClient fetches over the network (then caches); keep it off the event loop.
            key: Any = (await asyncio.to_thread(self.jwks.get_signing_key_from_jwt, token)).key
        else:
            key = self.public_key
        return decode_token(
            token,
            key=key,
            algorithm=self.algorithm,
            issuer=self.issuer,
            audience=self.audience,
            max_lifetime=self.max_lifetime,
            leeway=self.leeway,
        )


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def _verifier(request: Request, settings: AppSettings) -> TokenVerifier:
    verifier = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        verifier = request.app.state.token_verifier = TokenVerifier.from_settings(settings)
    return cast(TokenVerifier, verifier)


async def authenticate(
    verifier: Annotated[TokenVerifier, Depends(_verifier)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Return the caller named by a valid bearer token, or answer 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("A bearer token is required")
    try:
        claims = await verifier.claims(credentials.credentials)
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The token has expired") from None
    except jwt.PyJWTError:
        raise _unauthorized("The token is not valid") from None
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not isinstance(claims["sub"], str):
        raise _unauthorized("The token claims are malformed")
    return Principal.of(subject=claims["sub"], roles=(r for r in roles if isinstance(r, str)))


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


def require_roles(*roles: Role | str) -> Callable[[Principal], Awaitable[Principal]]:
    """Return a dependency admitting callers with any of `roles` (admin always passes)."""
    needed = tuple(Role(role) for role in roles)
    names = ", ".join(needed)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any_role(needed):
            raise ProblemError(
                403, "Forbidden", f"This requires one of the roles: {names}", extra={"required_roles": needed}
            )
        return principal

    return dependency
