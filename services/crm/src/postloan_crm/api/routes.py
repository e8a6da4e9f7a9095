"""The crm REST API (`/v1`)."""

from __future__ import annotations

from fastapi import APIRouter

from postloan_crm.api import agencies, alerts, calls, cases, customers, service_desk, strategies, worklist

router = APIRouter(prefix="/v1")
# In this order: it is the order of route matching and of the OpenAPI document.
for module in (customers, cases, service_desk, worklist, calls, alerts, agencies, strategies):
    router.include_router(module.router)
