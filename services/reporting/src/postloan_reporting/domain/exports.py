"""Spreadsheet cells that cannot run: text that a spreadsheet would read as a formula is neutralised."""

from __future__ import annotations

# A spreadsheet starts a formula at these (tab and carriage return too: some strip them and read on).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# The reports' placeholder for "no agent" or "no queue": a lone minus evaluates to nothing anywhere.
PLACEHOLDER = "-"


def starts_like_formula(value: object) -> bool:
    """True for text a spreadsheet would evaluate; numbers (negative ones too) are data, never formulas."""
    return isinstance(value, str) and value != PLACEHOLDER and value.startswith(FORMULA_STARTS)


def csv_cell(value: object) -> object:
    """`value` for a CSV cell: formula-like text gets a leading apostrophe (shown as text), the rest as is."""
    return f"'{value}" if starts_like_formula(value) else value
