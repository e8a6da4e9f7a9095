"""The risk-alert REST API (`/v1`)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
