"""Fixtures of the connector's tests: Fineract-shaped records (postloan_dev.fineract_records)."""

from __future__ import annotations

import pytest

from postloan_dev.fineract_records import Records, fineract_records


@pytest.fixture(scope="session")
def records() -> Records:
    """The record builder on the connector's schema store."""
    return fineract_records()
