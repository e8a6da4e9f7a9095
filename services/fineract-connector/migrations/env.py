"""Alembic environment of the fineract-connector database."""

from postloan_common.migrations import run_alembic
from postloan_fineract_connector.settings import Settings
from postloan_fineract_connector.store.tables import metadata

run_alembic(target_metadata=metadata, settings_factory=Settings)
