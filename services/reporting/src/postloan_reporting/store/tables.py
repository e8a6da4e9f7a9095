"""The reporting database schema."""

from __future__ import annotations

from postloan_common.db import new_metadata
from postloan_common.messaging.tables import add_messaging_tables

metadata = new_metadata()

outbox, inbox = add_messaging_tables(metadata)
