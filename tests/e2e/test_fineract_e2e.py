"""Apache Fineract → fineract-connector → repayment-monitor and crm, on one real broker.

Records are what Fineract's producer writes (postloan_dev.fineract_records, from the real schemas):
a client and a disbursal show up as a customer and a loan with its schedule; a repayment and its
reversal move the loan's DPD; a bulk COB message unwraps; a re-sent batch has no second effect;
a message of an unknown schema is dead-lettered by the connector, not passed on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import pytest

from postloan_common.catalog import CORE_BANKING_CUSTOMERS, CORE_BANKING_LOANS, FINERACT_EXTERNAL_EVENTS
from postloan_common.db import sync_url
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.kafka import make_producer
from postloan_common.worker import serve_worker
from postloan_dev.fineract_records import Records, fineract_records
from postloan_fineract_connector.consumers import batch_handlers, decoder
from postloan_fineract_connector.settings import Settings
from postloan_fineract_connector.store.tables import inbox, outbox

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOAN = "fineract:default:7"
CUSTOMER = "fineract:default:client:3"


class Connector:
    """The connector's worker beside the platform; its published events are counted into the platform's."""

    def __init__(self, platform: Any, conn: asyncpg.Connection) -> None:
        self.platform = platform
        self.conn = conn
        self.counted: dict[str, int] = {}
        self.producer: Any = None

    async def send(self, *records: tuple[int, bytes]) -> None:
        if self.producer is None:
            self.producer = make_producer(self.platform.bootstrap, client_id="e2e-fineract")
            await self.producer.start()
        for key, value in records:
            await self.producer.send_and_wait(FINERACT_EXTERNAL_EVENTS, value, key=key.to_bytes(8, "big"))

    async def settle(self, inbox_rows: int) -> None:
        """Wait until the connector took `inbox_rows` records and published all it produced; then the platform."""

        async def drained() -> bool:
            seen = await self.conn.fetchval("SELECT count(*) FROM inbox")
            pending = await self.conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            return seen >= inbox_rows and pending == 0

        await self.platform.wait_for("the connector to drain", drained, timeout_s=60)
        rows = await self.conn.fetch(
            "SELECT topic, count(*) AS n FROM outbox WHERE published_at IS NOT NULL GROUP BY topic"
        )
        for row in rows:
            fresh = row["n"] - self.counted.get(row["topic"], 0)
            self.platform.published[row["topic"]] += fresh
            self.counted[row["topic"]] = row["n"]
        await self.platform.settle()


@pytest.fixture
async def connector(platform: Any, migrated_database: Any) -> AsyncIterator[Connector]:
    url = await migrated_database("postloan_fineract_connector")
    await ensure_topics(platform.bootstrap, [FINERACT_EXTERNAL_EVENTS, f"{FINERACT_EXTERNAL_EVENTS}.dlt"], partitions=4)
    settings = Settings(database_url=url, outbox_poll_interval_s=0.2, db_pool_size=3)
    options = settings.mapping_options()
    stop = asyncio.Event()
    worker = asyncio.create_task(
        serve_worker(
            settings=settings,
            tables=(outbox, inbox),
            handlers={},
            batch_handlers=batch_handlers(options),
            topics=[FINERACT_EXTERNAL_EVENTS],
            decode=decoder(options),
            stop=stop,
        )
    )
    conn = await asyncpg.connect(sync_url(url))
    running = Connector(platform, conn)
    try:
        yield running
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(worker, 30)
        if running.producer is not None:
            await running.producer.stop()
        await conn.close()


def onboarding(r: Records) -> list[tuple[int, bytes]]:
    """Fineract creates the client and disburses its loan on 2026-01-05."""
    return [
        (3, r.message("ClientCreateBusinessEvent", r.CLIENT, r.client(), key="e2e-1", business_date="2026-01-05")),
        (
            7,
            r.message("LoanDisbursalBusinessEvent", r.LOAN, r.loan_account(), key="e2e-2", business_date="2026-01-05"),
        ),
    ]


async def loan(platform: Any) -> dict[str, Any]:
    return await platform.get("repayment-monitor", f"/v1/loans/{LOAN}")


async def test_fineract_events_drive_the_platform(platform, connector):
    r = fineract_records()
    await connector.send(*onboarding(r))
    await connector.settle(inbox_rows=2)

    booked = await loan(platform)
    assert (booked["customer_id"], booked["product"], booked["branch"]) == (CUSTOMER, "PL12", "office-1")
    schedule = await platform.get("repayment-monitor", f"/v1/loans/{LOAN}/schedule")
    assert [i["due_date"] for i in schedule["installments"]] == ["2026-02-05", "2026-03-05", "2026-04-05"]
    customer = await platform.get("crm", f"/v1/customers/{CUSTOMER}")
    assert customer["customer_id"] == CUSTOMER

    await platform.advance(date(2026, 2, 7))
    assert (await loan(platform))["dpd"] == 2

    # The first installment is paid in a COB bulk message, with an informational event beside it.
    txn = r.transaction(txn=11, amount="1010.00")
    bulk = r.bulk(
        [
            ("LoanTransactionMakeRepaymentPostBusinessEvent", r.TXN, txn),
            ("LoanDelinquencyRangeChangeBusinessEvent", r.LOAN, r.loan_account()),
        ],
        key="e2e-3",
        business_date="2026-02-07",
    )
    await connector.send((7, bulk))
    await connector.settle(inbox_rows=3)
    assert (await loan(platform))["dpd"] == 0

    # Fineract reverses it: the DPD comes back.
    reversal = r.message(
        "LoanAdjustTransactionBusinessEvent", r.ADJUST, {"transactionToAdjust": txn}, key="e2e-4",
        business_date="2026-02-07",
    )  # fmt: skip
    await connector.send((7, reversal))
    await connector.settle(inbox_rows=4)
    assert (await loan(platform))["dpd"] == 2

    # Fineract re-sends everything (at least once), plus one message of a schema nobody knows.
    unknown = bytearray(r.message("ClientCreateBusinessEvent", r.CLIENT, r.client(), key="e2e-5"))
    unknown[2:10] = (0x0BADF00D0BADF00D).to_bytes(8, "little")
    await connector.send(*onboarding(r), (7, bulk), (7, reversal), (3, bytes(unknown)))
    await connector.settle(inbox_rows=5)
    assert (await loan(platform))["dpd"] == 2
    produced = await connector.conn.fetch(
        "SELECT event_type, count(*) AS n FROM outbox WHERE topic = ANY($1::text[]) GROUP BY event_type",
        [CORE_BANKING_LOANS, CORE_BANKING_CUSTOMERS],
    )
    assert {row["event_type"]: row["n"] for row in produced} == {
        "customer-upserted": 1,
        "loan-booked": 1,
        "repayment-posted": 1,
        "repayment-reversed": 1,
    }
    reasons = await connector.conn.fetch("SELECT headers->>'dlt-reason' AS reason FROM outbox WHERE topic LIKE '%.dlt'")
    (reason,) = [row["reason"] for row in reasons]
    assert reason.startswith("undecodable record: ")
    assert "unknown Avro schema fingerprint 0badf00d0badf00d" in reason
