"""Customers: profile, contact points, consents and related parties, from events and REST."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_crm.domain.contact_policy import DEFAULT_JURISDICTION, JURISDICTIONS
from postloan_crm.store import customers as customer_rows


@dataclass(frozen=True, slots=True)
class PhoneData:
    number: str
    kind: str = "mobile"


@dataclass(frozen=True, slots=True)
class ConsentData:
    channel: str
    granted: bool
    purpose: str = "collection"
    recorded_on: date | None = None


@dataclass(frozen=True, slots=True)
class PartyData:
    name: str
    relation: str
    customer_id: str | None = None
    phones: tuple[PhoneData, ...] = ()


@dataclass(frozen=True)
class CustomerData:
    """A customer's full record; None for consents / related parties / address means "leave as is"."""

    customer_id: str
    name: str
    national_id: str
    timezone: str
    language: str
    phones: tuple[PhoneData, ...] = ()
    emails: tuple[str, ...] = ()
    birth_date: date | None = None
    segment: str | None = None
    preferred_channel: str | None = None
    jurisdiction: str | None = None
    consents: tuple[ConsentData, ...] | None = None
    related_parties: tuple[PartyData, ...] | None = None
    address: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# The customer's single-valued fields, named alike in CustomerData, the customers table and the API bodies.
PROFILE_FIELDS = (
    "customer_id",
    "name",
    "national_id",
    "timezone",
    "language",
    "birth_date",
    "segment",
    "preferred_channel",
    "jurisdiction",
)


def jurisdiction_of(data: CustomerData) -> str:
    """The contact-rule jurisdiction: given, else the address country when it has a profile, else CN."""
    if data.jurisdiction:
        return data.jurisdiction
    country = (data.address or {}).get("country")
    return country if country in JURISDICTIONS else DEFAULT_JURISDICTION


async def upsert_customer(session: AsyncSession, *, data: CustomerData, source: str) -> bool:
    """Create or replace a customer's record; return True when it was new."""
    (created,) = await upsert_customers(session, records=[data], source=source)
    return created


async def upsert_customers(session: AsyncSession, *, records: Sequence[CustomerData], source: str) -> list[bool]:
    """Create or replace customers' records as if one after another; return, per record, whether it was new.

    A record's None (preferred channel, address, consents, related parties) leaves what is kept as it is,
    so a customer told twice in a run ends with the last of each that was given; contact points are
    replaced by the last record's.
    """
    latest: dict[str, dict[str, Any]] = {}
    last_record: dict[str, CustomerData] = {}
    parties: dict[str, tuple[PartyData, ...]] = {}
    consent_rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for data in records:
        earlier = latest.get(data.customer_id, {})
        latest[data.customer_id] = {
            "customer_id": data.customer_id,
            "name": data.name,
            "national_id": data.national_id,
            "language": data.language,
            "timezone": data.timezone,
            "jurisdiction": jurisdiction_of(data),
            "segment": data.segment,
            "birth_date": data.birth_date,
            # Core banking does not know the channel preference crm keeps.
            "preferred_channel": data.preferred_channel
            if data.preferred_channel is not None
            else earlier.get("preferred_channel"),
            "address": data.address if data.address is not None else earlier.get("address"),
            "source": source,
        }
        last_record[data.customer_id] = data
        if data.related_parties is not None:
            parties[data.customer_id] = data.related_parties
        for c in data.consents or ():
            consent_rows[(data.customer_id, c.channel, c.purpose)] = _consent_row(data.customer_id, c)
    if not latest:
        return []
    ids = sorted(latest)
    inserted = await customer_rows.upsert_customer_rows(session, [latest[i] for i in ids])
    await _replace_contact_points(session, [last_record[i] for i in ids])
    await customer_rows.upsert_consents(session, [consent_rows[k] for k in sorted(consent_rows)])
    if parties:
        await customer_rows.replace_related_parties(
            session,
            customer_ids=sorted(parties),
            rows=[
                {
                    "customer_id": customer_id,
                    "name": p.name,
                    "relation": p.relation,
                    "party_customer_id": p.customer_id,
                    "phones": [{"number": ph.number, "kind": ph.kind} for ph in p.phones],
                }
                for customer_id in sorted(parties)
                for p in parties[customer_id]
            ],
        )
    created: list[bool] = []
    for data in records:
        created.append(data.customer_id in inserted)
        inserted.discard(data.customer_id)
    return created


async def _replace_contact_points(session: AsyncSession, records: Sequence[CustomerData]) -> None:
    rows = [
        {"customer_id": data.customer_id, "kind": "phone", "value": p.number, "label": p.kind, "position": i}
        for data in records
        for i, p in enumerate(dict.fromkeys(data.phones))
    ] + [
        {"customer_id": data.customer_id, "kind": "email", "value": e, "label": None, "position": i}
        for data in records
        for i, e in enumerate(dict.fromkeys(data.emails))
    ]
    await customer_rows.replace_contact_points(session, customer_ids=[data.customer_id for data in records], rows=rows)


async def set_consents(session: AsyncSession, *, customer_id: str, items: Sequence[ConsentData]) -> None:
    """Record consents and opt-outs (one row per channel and purpose; the latest wins)."""
    rows = {(c.channel, c.purpose): _consent_row(customer_id, c) for c in items}
    await customer_rows.upsert_consents(session, list(rows.values()))


def _consent_row(customer_id: str, consent: ConsentData) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "channel": consent.channel,
        "purpose": consent.purpose,
        "granted": consent.granted,
        "recorded_on": consent.recorded_on,
    }


async def load_customers(
    session: AsyncSession, customer_ids: Iterable[str], *, lock: bool = False
) -> dict[str, CustomerData]:
    """The full records of the customers that exist among `customer_ids`."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    rows = await customer_rows.customer_rows(session, ids, lock=lock)
    if not rows:
        return {}
    points: dict[str, list[Any]] = defaultdict(list)
    for p in await customer_rows.contact_point_rows(session, ids):
        points[p["customer_id"]].append(p)
    consent_rows: dict[str, list[Any]] = defaultdict(list)
    for c in await customer_rows.consent_rows(session, ids):
        consent_rows[c["customer_id"]].append(c)
    party_rows: dict[str, list[Any]] = defaultdict(list)
    for p in await customer_rows.related_party_rows(session, ids):
        party_rows[p["customer_id"]].append(p)
    return {
        row["customer_id"]: _customer(
            row, points[row["customer_id"]], consent_rows[row["customer_id"]], party_rows[row["customer_id"]]
        )
        for row in rows
    }


async def load_customer(session: AsyncSession, customer_id: str, *, lock: bool = False) -> CustomerData | None:
    """The customer's full record, or None."""
    return (await load_customers(session, [customer_id], lock=lock)).get(customer_id)


def _customer(row: Any, points: Sequence[Any], consent_rows: Sequence[Any], party_rows: Sequence[Any]) -> CustomerData:
    phones: list[PhoneData] = []
    emails: list[str] = []
    for p in points:
        if p["kind"] == "phone":
            phones.append(PhoneData(p["value"], p["label"] or "mobile"))
        else:
            emails.append(p["value"])
    return CustomerData(
        **{k: row[k] for k in PROFILE_FIELDS},
        phones=tuple(phones),
        emails=tuple(emails),
        consents=tuple(ConsentData(c["channel"], c["granted"], c["purpose"], c["recorded_on"]) for c in consent_rows),
        related_parties=tuple(
            PartyData(
                p["name"],
                p["relation"],
                p["party_customer_id"],
                tuple(PhoneData(ph["number"], ph.get("kind", "mobile")) for ph in p["phones"]),
            )
            for p in party_rows
        ),
        address=row["address"],
        extra={"created_at": row["created_at"], "updated_at": row["updated_at"], "source": row["source"]},
    )


def collection_consents(data: CustomerData) -> dict[str, bool]:
    """Per channel: granted or refused for collection contact (absent: no explicit record)."""
    return {c.channel: c.granted for c in data.consents or () if c.purpose == "collection"}


def care_consented(data: CustomerData) -> bool:
    """Whether the customer explicitly agreed to care messages (birthday greetings need it)."""
    return any(c.purpose == "care" and c.granted for c in data.consents or ())


def recipients(data: CustomerData) -> dict[str, str | None]:
    """Where each reminder channel would reach the customer."""
    mobile = next((p.number for p in data.phones if p.kind == "mobile"), None)
    return {
        "sms": mobile,
        "email": data.emails[0] if data.emails else None,
        # Push needs the app; crm only knows of it when the customer chose push.
        "app_push": data.customer_id if data.preferred_channel == "app_push" else None,
        "letter": postal_address(data),
    }


def postal_address(data: CustomerData) -> str | None:
    """The customer's address on one line, for a letter (None without an address)."""
    address = data.address or {}
    parts = [address.get(k) for k in ("line1", "line2", "city", "province", "postal_code", "country")]
    line = ", ".join(str(p) for p in parts if p)
    return line[:254] or None
