"""Request-scoped dependencies: database session, settings, request and correlation ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.settings import ServiceSettings
from postloan_common.web.problems import CORRELATION_ID_KEY, REQUEST_ID_KEY


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield a session from the app's factory; the caller owns the transaction."""
    sessions = cast(async_sessionmaker[AsyncSession], request.app.state.sessions)
    async with sessions() as session:
        yield session


def get_settings(request: Request) -> ServiceSettings:
    """Return the settings the app was created with."""
    return cast(ServiceSettings, request.app.state.settings)


def get_request_id(request: Request) -> str:
    """Return this request's id."""
    return str(getattr(request.state, REQUEST_ID_KEY, ""))


def get_correlation_id(request: Request) -> str:
    """Return the correlation id to propagate into events and outgoing calls."""
    return str(getattr(request.state, CORRELATION_ID_KEY, ""))


DbSession = Annotated[AsyncSession, Depends(get_session)]
AppSettings = Annotated[ServiceSettings, Depends(get_settings)]
RequestId = Annotated[str, Depends(get_request_id)]
CorrelationId = Annotated[str, Depends(get_correlation_id)]
