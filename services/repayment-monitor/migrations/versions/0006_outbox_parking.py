"""outbox parking: rows the broker rejects for good are parked with the reason instead of retried"""

from postloan_common.migrations import downgrade_outbox_parking as downgrade
from postloan_common.migrations import upgrade_outbox_parking as upgrade

revision = "0006"
down_revision = "0005"
