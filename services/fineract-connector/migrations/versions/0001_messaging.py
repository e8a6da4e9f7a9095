"""messaging: the outbox and inbox, the same in every service"""

from postloan_common.migrations import downgrade_messaging as downgrade
from postloan_common.migrations import upgrade_messaging as upgrade

revision = "0001"
down_revision = None
