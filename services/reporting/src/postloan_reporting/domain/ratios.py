"""Exact ratios of Decimals, rounded once for presentation, half-up like every amount of the platform."""

from __future__ import annotations

from decimal import Decimal

from postloan_common.money import quantize_money, quantize_ratio

ZERO = Decimal(0)
RATIO_PLACES = 6
MONEY_PLACES = 2


def ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """numerator ÷ denominator to 6 places; None when the denominator is zero (undefined, not 0)."""
    if not denominator:
        return None
    return rounded_ratio(Decimal(numerator) / Decimal(denominator))


def rounded_ratio(value: Decimal | int) -> Decimal:
    """A ratio (or probability) rounded half-up to 6 places, with the platform's one rounding rule."""
    return quantize_ratio(value, RATIO_PLACES)


def money(value: Decimal | int) -> Decimal:
    """Round an amount half-up to cents (docs/domain.md: one rounding rule for money)."""
    return quantize_money(value, MONEY_PLACES)
