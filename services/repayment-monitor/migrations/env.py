"""Alembic environment of the repayment-monitor database."""

from postloan_common.migrations import run_alembic
from postloan_repayment_monitor.settings import Settings
from postloan_repayment_monitor.store.tables import metadata

run_alembic(target_metadata=metadata, settings_factory=Settings)
