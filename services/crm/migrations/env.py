"""Alembic environment of the crm database."""

from postloan_common.migrations import run_alembic
from postloan_crm.settings import Settings
from postloan_crm.store.tables import metadata

run_alembic(target_metadata=metadata, settings_factory=Settings)
