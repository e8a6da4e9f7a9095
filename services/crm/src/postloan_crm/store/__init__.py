"""SQL of crm; importing the package registers every table on the one metadata (migrations compare it)."""

from postloan_crm.store import alert_tables as _alert_tables  # noqa: F401
from postloan_crm.store import placement_tables as _placement_tables  # noqa: F401
from postloan_crm.store import strategy_tables as _strategy_tables  # noqa: F401
