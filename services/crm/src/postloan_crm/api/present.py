"""Shaping responses: money as strings, and personal data masked for callers without pii:read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from postloan_common.audit import changes
from postloan_common.web import Principal, can_read_pii, mask_email, mask_national_id, mask_phone
from postloan_crm.service.customers import CustomerData


def plain(value: Any) -> Any:
    """JSON-ready copy: Decimal as a plain string (never a float), dates ISO 8601."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def customer_view(data: CustomerData, *, principal: Principal) -> dict[str, Any]:
    """A customer as the caller may see it: contact points, ids, address, birth date masked without pii:read."""
    clear = can_read_pii(principal)

    def phone(number: str) -> str:
        return number if clear else mask_phone(number)

    body = asdict(data)
    extra = body.pop("extra")
    body["national_id"] = data.national_id if clear else mask_national_id(data.national_id)
    body["phones"] = [{"number": phone(p.number), "kind": p.kind} for p in data.phones]
    body["emails"] = [e if clear else mask_email(e) for e in data.emails]
    body["related_parties"] = [
        {
            "name": p.name,
            "relation": p.relation,
            "customer_id": p.customer_id,
            "phones": [{"number": phone(ph.number), "kind": ph.kind} for ph in p.phones],
        }
        for p in data.related_parties or ()
    ]
    body["consents"] = [asdict(c) for c in data.consents or ()]
    if not clear:
        body["address"] = mask_address(data.address)
        body["birth_date"] = mask_birth_date(data.birth_date)
    body["pii_masked"] = not clear
    return plain(body | extra)


def mask_address(address: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Keep only the city, province and country: enough to route work, not to find the door."""
    if address is None:
        return None
    kept = ("city", "province", "country")
    return {key: (value if key in kept or value is None else "***") for key, value in address.items()}


def mask_birth_date(value: date | None) -> str | None:
    """Keep only the year, which age-based rules need."""
    return None if value is None else f"{value.year:04d}-**-**"


def mask_recipient(recipient: str | None, *, principal: Principal) -> str | None:
    """A message recipient (phone or e-mail) as the caller may see it."""
    if recipient is None or can_read_pii(principal):
        return recipient
    return mask_email(recipient) if "@" in recipient else mask_phone(recipient)


def communication_view(row: Mapping[str, Any], *, principal: Principal) -> dict[str, Any]:
    """A stored communication for the API."""
    body = dict(row)
    body.pop("source_event_id", None)
    body["recipient"] = mask_recipient(body.get("recipient"), principal=principal)
    return plain(body)


def mask_name(value: str) -> str:
    """Keep the first character of a person's name: enough to tell two audit rows apart."""
    return value[:1] + "*" * max(len(value) - 1, 2)


def _mask_phones(phones: Any) -> list[dict[str, Any]]:
    return [{"number": mask_phone(p["number"]), "kind": p["kind"]} for p in phones]


def _mask_parties(parties: Any) -> list[dict[str, Any]]:
    return [{**p, "name": mask_name(p["name"]), "phones": _mask_phones(p["phones"])} for p in parties]


# Audit rows are read by people without pii:read too, so personal data is always stored masked.
CUSTOMER_AUDIT_MASKS: dict[str, Callable[[Any], Any]] = {
    "name": mask_name,
    "national_id": mask_national_id,
    "phones": _mask_phones,
    "emails": lambda emails: [mask_email(e) for e in emails],
    "related_parties": _mask_parties,
    "address": mask_address,
    "birth_date": mask_birth_date,
}


def customer_changes(old: CustomerData | None, new: CustomerData) -> dict[str, dict[str, Any]]:
    """The customer fields an update changed, `{old, new}` each, personal data masked (asdict flattens phones)."""
    before = {k: v for k, v in asdict(old).items() if k != "extra"} if old is not None else None
    after = {k: v for k, v in asdict(new).items() if k != "extra"}
    return changes(before, after, masked=CUSTOMER_AUDIT_MASKS)
