"""Ingesting decoded Fineract messages: map, write the core-banking events to the outbox, count."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from prometheus_client import Counter as Metric
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.outbox import add_events, outbox_row
from postloan_fineract_connector.domain.mapping import MappingOptions, Outgoing, classify, map_message
from postloan_fineract_connector.domain.messages import FineractMessage
from postloan_fineract_connector.store import queries
from postloan_fineract_connector.store.tables import outbox

EVENTS = Metric(
    "fineract_events_total",
    "Fineract business events by type and outcome (mapped or skipped)",
    ["type", "outcome"],
)
PRODUCED = Metric("fineract_produced_total", "core-banking events produced from Fineract, by type", ["type"])


async def apply_messages(
    session: AsyncSession, *, messages: Sequence[FineractMessage], options: MappingOptions
) -> list[Outgoing]:
    """Map `messages` and queue what they map to in the caller's transaction; return it."""
    produced: list[Outgoing] = []
    counts: Counter[tuple[str, str]] = Counter()
    for message in messages:
        produced.extend(map_message(message, options))
        for event in message.events:
            counts[(event.type, classify(event.type, options))] += 1
    await add_events(session, outbox, (outbox_row(o.envelope, topic=o.topic) for o in produced))
    await queries.add_id_mappings(session, _mappings(messages, produced))
    await queries.bump_counts(session, counts)
    # Counted after the writes: a batch rolled back for a transient error is not counted twice.
    for (event_type, outcome), count in counts.items():
        EVENTS.labels(event_type, outcome).inc(count)
    for out in produced:
        PRODUCED.labels(out.envelope.type).inc()
    return produced


def _mappings(messages: Sequence[FineractMessage], produced: Sequence[Outgoing]) -> list[dict[str, object]]:
    """id_map rows for the loans and customers that `produced` names."""
    tenants = {m.idempotency_key[:200]: m.tenant_id for m in messages}
    rows: list[dict[str, object]] = []
    for out in produced:
        tenant = tenants.get(out.envelope.correlation_id or "", "")
        for kind, field in (("loan", "loan_id"), ("customer", "customer_id")):
            postloan_id = out.envelope.data.get(field)
            if isinstance(postloan_id, str):
                rows.append(
                    {
                        "postloan_id": postloan_id,
                        "kind": kind,
                        "tenant_id": tenant[:100],
                        "fineract_id": int(postloan_id.rsplit(":", 1)[1]),
                    }
                )
    return rows
