"""Dependencies shared by the crm routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from postloan_common.web import DbSession, ProblemError
from postloan_crm.service.customers import CustomerData, load_customer
from postloan_crm.settings import Settings


def get_settings(request: Request) -> Settings:
    """The service settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_now() -> datetime:
    """The current instant (UTC); a dependency so tests can pin it."""
    return datetime.now(UTC)


ServiceConfig = Annotated[Settings, Depends(get_settings)]
Now = Annotated[datetime, Depends(get_now)]


async def existing_customer(session: DbSession, customer_id: str, *, lock: bool = False) -> CustomerData:
    """The customer, or a 404 problem."""
    customer = await load_customer(session, customer_id, lock=lock)
    if customer is None:
        raise ProblemError(404, "Customer not found", f"customer {customer_id} is not known")
    return customer
