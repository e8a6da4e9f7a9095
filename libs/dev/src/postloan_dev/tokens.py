"""Tokens for the locally running services, signed the way their settings say."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from postloan_common.settings import ServiceSettings
from postloan_common.web.auth import mint_token
from postloan_dev.devkeys import signing_key


def local_token(*, sub: str, roles: Sequence[str], ttl: timedelta = timedelta(hours=12)) -> str:
    """A token for `sub` with `roles`, signed with the development private key (or POSTLOAN_JWT_PRIVATE_KEY_FILE)
    and the issuer, audience and algorithm of the settings."""
    settings = ServiceSettings()
    return mint_token(
        secret=signing_key(),
        sub=sub,
        roles=roles,
        ttl=ttl,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        algorithm=settings.jwt_algorithm,
    )
