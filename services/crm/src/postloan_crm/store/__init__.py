"""SQL of crm; importing the package registers every table on the one metadata (migrations compare it)."""

from postloan_crm.store import alert_tables as _alert_tables  # noqa: F401
