"""Export cells that a spreadsheet would evaluate are written as text (issue 13 item 13)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from postloan_reporting.domain.exports import csv_cell, starts_like_formula


@pytest.mark.parametrize(
    "text", ["=1+2", "+CMD", "-2+3", "@SUM(A1)", '=HYPERLINK("http://x")', "\t=1", "\r=1", "--", "-1"]
)
def test_formula_like_text_is_neutralised(text: str) -> None:
    assert starts_like_formula(text)
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["P1", "a=b", "M6+", "", "-", None, 7, D("-12.50"), -3])
def test_plain_text_and_numbers_are_left_alone(value: object) -> None:
    assert not starts_like_formula(value)
    assert csv_cell(value) == value
