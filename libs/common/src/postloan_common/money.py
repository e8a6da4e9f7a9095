"""Rounding money: one rule for the whole platform.

Amounts are Decimal and are rounded half-up (ROUND_HALF_UP: 0.005 becomes 0.01, -0.005 becomes -0.01),
to two places unless a currency or rate needs otherwise; see docs/domain.md. Rounding never depends on
the ambient decimal context, so a caller that changed `decimal.getcontext()` gets the same answer.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

ROUNDING = ROUND_HALF_UP
CENT = Decimal("0.01")
# Quanta for the usual places, built once: ledger replays round on every accrual.
_QUANTA = {places: Decimal(1).scaleb(-places) for places in range(13)}


def _quantum(value: Decimal | int | str, places: int) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money must be Decimal, int or str, not float")
    if places < 0:
        raise ValueError("places must not be negative")
    return _QUANTA.get(places) or Decimal(1).scaleb(-places)


def quantize_money(value: Decimal | int | str, places: int = 2) -> Decimal:
    """Round `value` half-up to `places` decimal places (floats are refused: they are not exact)."""
    return Decimal(value).quantize(_quantum(value, places), rounding=ROUNDING)


def quantize_ratio(value: Decimal | int | str, places: int) -> Decimal:
    """Round a ratio (rate, share, probability) half-up to `places`: the money rule, named for ratios."""
    return quantize_money(value, places)


def quantize_share(value: Decimal | int | str, places: int = 2) -> Decimal:
    """Round an even share toward zero, so the remainder left for the last part is never negative."""
    return Decimal(value).quantize(_quantum(value, places), rounding=ROUND_DOWN)
