"""The business date as crm learns it from repayment.loans events (kept in store.calendar)."""

from __future__ import annotations

from postloan_crm.store.calendar import current_business_date, note_business_date

__all__ = ["current_business_date", "note_business_date"]
