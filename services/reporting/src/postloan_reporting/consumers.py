"""The reporting consumer's handlers: one batch handler for every event type of every topic."""

from __future__ import annotations

from postloan_reporting.service.ingest import apply_events, batch_handlers

__all__ = ["apply_events", "batch_handlers"]
