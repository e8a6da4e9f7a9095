"""Ratios of a periodic assessment (定期评估) from its financial figures."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from postloan_common.money import quantize_ratio


@dataclass(frozen=True)
class Financials:
    """One period's figures of a debtor."""

    revenue: Decimal
    profit: Decimal
    total_assets: Decimal
    total_liabilities: Decimal
    current_assets: Decimal
    current_liabilities: Decimal
    operating_cash_flow: Decimal
    interest_expense: Decimal = Decimal(0)


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if denominator == 0:
        return None
    return quantize_ratio(numerator / denominator, 4)


def ratios(current: Financials, previous: Financials | None = None) -> dict[str, Decimal | None]:
    """Debt ratio, current ratio, interest coverage and revenue change (None where undefined).

    Interest coverage uses EBIT ≈ profit + interest expense; revenue change is against `previous`.
    """
    return {
        "debt_ratio": _ratio(current.total_liabilities, current.total_assets),
        "current_ratio": _ratio(current.current_assets, current.current_liabilities),
        "interest_coverage": _ratio(current.profit + current.interest_expense, current.interest_expense),
        "revenue_change": _ratio(current.revenue - previous.revenue, previous.revenue) if previous else None,
        "operating_cash_flow_to_liabilities": _ratio(current.operating_cash_flow, current.current_liabilities),
    }
