"""Rounding money: one rule for the whole platform.

Amounts are Decimal and are rounded half-up (ROUND_HALF_UP: 0.005 becomes 0.01, -0.005 becomes -0.01),
to two places unless a currency or rate needs otherwise; see docs/domain.md. Rounding never depends on
the ambient decimal context, so a caller that changed `decimal.getcontext()` gets the same answer.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ROUNDING = ROUND_HALF_UP


def quantize_money(value: Decimal | int | str, places: int = 2) -> Decimal:
    """Round `value` half-up to `places` decimal places (floats are refused: they are not exact)."""
    if isinstance(value, float):
        raise TypeError("money must be Decimal, int or str, not float")
    if places < 0:
        raise ValueError("places must not be negative")
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUNDING)
