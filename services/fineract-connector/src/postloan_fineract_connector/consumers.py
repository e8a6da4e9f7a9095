"""The consumer side: Fineract records decoded into carrier envelopes, then ingested per batch.

The shared consumer loop de-duplicates on the envelope id, so the carrier's id is uuid5 of
Fineract's `idempotencyKey` (stable across re-sends; `source` is not). An undecodable record
(unknown fingerprint, corrupt body) is dead-lettered by the loop with the decoder's reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.consumer import BatchHook, Decoder
from postloan_common.messaging.envelope import Envelope
from postloan_fineract_connector.domain.mapping import MappingOptions, classify
from postloan_fineract_connector.domain.messages import FineractMessage, parse_key, read_message
from postloan_fineract_connector.service.ingest import apply_messages
from postloan_fineract_connector.store.schemas import load_store

CARRIER_TYPE = "fineract-message"
INBOX_NAMESPACE = uuid.UUID("0c4b8e62-1f7a-4d35-8b9e-5a2d6c3f1e47")


def decoder(options: MappingOptions) -> Decoder:
    """Decode a Fineract record into a carrier envelope holding the decoded message."""
    store = load_store()

    def wanted(event_type: str) -> bool:
        return classify(event_type, options) == "mapped"

    def decode(record: ConsumerRecord) -> Envelope:
        message = read_message(record.value, store, wanted)
        key = parse_key(record.key)
        return Envelope(
            id=uuid.uuid5(INBOX_NAMESPACE, message.idempotency_key),
            type=CARRIER_TYPE,
            source=f"fineract:{message.tenant_id}"[:200],
            subject=str(key) if key is not None else f"fineract:{message.tenant_id}"[:200],
            time=message.created_at,
            business_date=message.business_date,
            correlation_id=message.idempotency_key[:200],
            data={"message": message},
        )

    return decode


def batch_handlers(options: MappingOptions) -> dict[str, BatchHook]:
    """The one batch handler: every carrier envelope of a run, ingested together."""

    async def ingest(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        await apply_messages(session, messages=[_message(e) for e in envelopes], options=options)

    return {CARRIER_TYPE: ingest}


def _message(envelope: Envelope) -> FineractMessage:
    message = envelope.data["message"]
    assert isinstance(message, FineractMessage)
    return message
