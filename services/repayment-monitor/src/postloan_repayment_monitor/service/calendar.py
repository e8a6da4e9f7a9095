"""The business date: one row, read under a share lock by postings and locked by close of day."""

from __future__ import annotations

from postloan_repayment_monitor.store.calendar import business_date

__all__ = ["business_date"]
