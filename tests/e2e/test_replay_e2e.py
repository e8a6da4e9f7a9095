"""Replaying every topic from the beginning into every service changes nothing.

After a scenario that puts events on every topic, each consumer group is rewound to offset 0 on
every partition (keeping its name, which is also the inbox's consumer key) and the workers start
again. Every record is read a second time and found in the inbox: no table changes, no outbox row
is written.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
from prometheus_client import REGISTRY

from postloan_common.catalog import CONSUMES, TOPICS

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def scenario(platform: Any) -> None:
    """Two delinquent loans: L-1 breaks a promise, L-2 is cured by a payment that then bounces."""
    for loan_id, customer_id in (("L-1", "C-1"), ("L-2", "C-2")):
        await platform.upsert_customer(customer_id)
        await platform.book_loan(loan_id, customer_id)
    await platform.settle()
    # Spent at a furniture store: on core-banking.transactions, so the replay covers that topic too.
    await platform.move_funds("L-1", "F-1", "2500.00")
    await platform.advance(date(2026, 2, 10))

    cases = {c["loan_id"]: c for c in (await platform.get("crm", "/v1/cases", status="open"))["items"]}
    await platform.post(
        "crm",
        f"/v1/cases/{cases['L-1']['case_id']}/promises",
        {"amount": "300.00", "promised_date": "2026-02-11"},
        role="supervisor",
        expect=201,
    )
    overdue = (await platform.get("repayment-monitor", "/v1/loans/L-2"))["overdue"]["total"]
    await platform.post_repayment("L-2", "R-2", overdue, date(2026, 2, 10))
    await platform.settle()
    await platform.advance(date(2026, 2, 12))
    await platform.reverse_repayment("L-2", "R-2", date(2026, 2, 12))
    await platform.settle()
    await platform.advance(date(2026, 2, 14))


async def no_stale_snapshots(platform: Any) -> bool:
    # reporting rebuilds snapshots that back-valued events made stale in a periodic job.
    return not await platform.fetch("reporting", "SELECT 1 FROM rpt_snapshot WHERE stale")


def duplicates_seen() -> Counter[str]:
    """Records each consumer found already in its inbox, from the consumers' own metrics."""
    seen: Counter[str] = Counter()
    for group, topics in CONSUMES.items():
        for topic in topics:
            labels = {"consumer": group, "topic": topic, "outcome": "duplicate"}
            seen[group] += int(REGISTRY.get_sample_value("consumer_events_total", labels) or 0)
    return seen


async def test_replaying_every_topic_from_the_beginning_changes_no_state(platform):
    await scenario(platform)
    # The scenario reached every topic, so the replay below has something to re-deliver everywhere.
    produced = {topic: platform.published[topic] for topic in TOPICS}
    for name in platform.services:
        for row in await platform.fetch(name, "SELECT topic, count(*) AS n FROM outbox GROUP BY topic"):
            produced[row["topic"]] = produced.get(row["topic"], 0) + row["n"]
    assert all(produced[topic] > 0 for topic in TOPICS), produced
    broken = await platform.fetch("crm", "SELECT status FROM promises")
    assert [r["status"] for r in broken] == ["broken"]

    await platform.wait_for("reporting's snapshots to be rebuilt", lambda: no_stale_snapshots(platform))
    before = await platform.checksums()
    outbox_before = await platform.outbox_ids()
    inbox_before = {name: await platform.fetch(name, "SELECT count(*) FROM inbox") for name in platform.services}
    duplicates_before = duplicates_seen()

    await platform.stop_workers()
    await platform.rewind_consumer_groups()
    rewound = await platform.lag()
    expected_rewound = {
        f"{group} on {topic}": f"0/{produced[topic]}" for group, topics in CONSUMES.items() for topic in topics
    }
    assert rewound == expected_rewound

    platform.start_workers()
    await platform.settle()
    await platform.wait_for("reporting's snapshots to be fresh", lambda: no_stale_snapshots(platform))

    # Every record was delivered again and recognised as a duplicate...
    replayed = duplicates_seen() - duplicates_before
    assert replayed == Counter({group: sum(produced[t] for t in topics) for group, topics in CONSUMES.items()})
    # ...and had no effect at all.
    after = await platform.checksums()
    assert {table for table in before if before[table] != after[table]} == set()
    assert after.keys() == before.keys()
    assert await platform.outbox_ids() == outbox_before
    assert {name: await platform.fetch(name, "SELECT count(*) FROM inbox") for name in platform.services} == (
        inbox_before
    )
