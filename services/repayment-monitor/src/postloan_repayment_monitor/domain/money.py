"""Decimal money arithmetic: two places, half-up, as the bank's statements show it."""

from __future__ import annotations

from decimal import Decimal

from postloan_common.money import CENT, quantize_money

__all__ = ["CENT", "ZERO", "cents"]

ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    """Round to cents with the platform's one helper (half-up)."""
    return quantize_money(value)
