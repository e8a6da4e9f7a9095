"""Alembic environment of the reporting database."""

from postloan_common.migrations import run_alembic
from postloan_reporting.settings import Settings
from postloan_reporting.store.tables import metadata

run_alembic(target_metadata=metadata, settings_factory=Settings)
