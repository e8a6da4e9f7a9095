"""The crm REST API (`/v1`)."""

from __future__ import annotations

from fastapi import APIRouter

from postloan_crm.api import agencies, alerts, calls, cases, customers, service_desk, worklist

router = APIRouter(prefix="/v1")
router.include_router(customers.router)
router.include_router(cases.router)
router.include_router(service_desk.router)
router.include_router(worklist.router)
router.include_router(calls.router)
router.include_router(alerts.router)
router.include_router(agencies.router)
