"""Alembic environment of the risk-alert database."""

from postloan_common.migrations import run_alembic
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store.tables import metadata

run_alembic(target_metadata=metadata, settings_factory=Settings)
