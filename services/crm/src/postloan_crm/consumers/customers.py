"""core-banking.customers: customer-upserted."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import CustomerUpsertedV1
from postloan_common.messaging.envelope import Envelope
from postloan_crm.consumers.common import parse_run
from postloan_crm.service.customers import ConsentData, CustomerData, PartyData, PhoneData, upsert_customers


def customer_data(event: CustomerUpsertedV1) -> CustomerData:
    """The customer record carried by a customer-upserted event."""
    return CustomerData(
        customer_id=event.customer_id,
        name=event.name,
        national_id=event.national_id,
        timezone=event.timezone,
        language=event.language.value,
        phones=tuple(PhoneData(p.number, p.kind.value) for p in event.phones),
        emails=tuple(event.emails),
        birth_date=event.birth_date,
        segment=event.segment.value if event.segment else None,
        consents=tuple(ConsentData(c.channel.value, c.granted, c.purpose, c.recorded_on) for c in event.consents)
        if event.consents is not None
        else None,
        related_parties=tuple(
            PartyData(p.name, p.relation, p.customer_id, tuple(PhoneData(ph.number, ph.kind.value) for ph in p.phones))
            for p in event.related_parties
        )
        if event.related_parties is not None
        else None,
        address=event.address.model_dump(mode="json") if event.address else None,
    )


class CustomersUpserted:
    """Upsert the customers of a run (the last record of a customer wins)."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, CustomerUpsertedV1)
        await upsert_customers(session, records=[customer_data(e) for e, _ in events], source="event")
