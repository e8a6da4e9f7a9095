"""Exact ratios of Decimals, rounded once for presentation."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

ZERO = Decimal(0)
RATIO_PLACES = Decimal("0.000001")
MONEY_PLACES = Decimal("0.01")


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """numerator ÷ denominator to 6 places; None when the denominator is zero (undefined, not 0)."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN)


def money(value: Decimal | int) -> Decimal:
    """Round an amount to cents."""
    return Decimal(value).quantize(MONEY_PLACES, rounding=ROUND_HALF_EVEN)
