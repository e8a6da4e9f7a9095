"""The repayment-monitor REST API (`/v1`)."""

from __future__ import annotations

from fastapi import APIRouter

from postloan_repayment_monitor.api import bulk, calendar, loans, products, repayments, restructurings

router = APIRouter(prefix="/v1")
# In this order: it is the order of route matching and of the OpenAPI document.
for module in (loans, bulk, repayments, restructurings, calendar, products):
    router.include_router(module.router)
