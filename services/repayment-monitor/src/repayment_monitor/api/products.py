"""Product rules: waterfall, penalty, grace, overpayment policy, reminder offsets."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["products"])
