"""The reporting service layer: event ingestion, snapshots and report assembly."""
