"""Bulk intake of a whole portfolio (NDJSON or CSV upload)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["bulk"])
