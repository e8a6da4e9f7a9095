"""The repayment-monitor REST API (`/v1`)."""

from __future__ import annotations

from fastapi import APIRouter

from postloan_repayment_monitor.api import bulk, calendar, loans, products, repayments, restructurings

router = APIRouter(prefix="/v1")
router.include_router(loans.router)
router.include_router(bulk.router)
router.include_router(repayments.router)
router.include_router(restructurings.router)
router.include_router(calendar.router)
router.include_router(products.router)
