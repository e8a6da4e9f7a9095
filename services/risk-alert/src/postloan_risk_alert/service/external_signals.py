"""External signals in and out: store a batch whole or refuse it whole, list a customer's (issue 15 item 5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import CustomerUpsertedV1, ExternalSignalV1, SignalSubject
from postloan_risk_alert.domain import signals as domain
from postloan_risk_alert.store import signals as store

# Rows per INSERT: 12 columns each stay well under PostgreSQL's 32,767 bind parameters.
_CHUNK = 2000
LISTED = 500


@dataclass(frozen=True)
class SignalRefusal:
    """Why one signal of a batch is refused: 404 unknown loan, 409 the same id with other content."""

    index: int
    signal_id: str
    status: int
    reason: str


@dataclass(frozen=True)
class Ingested:
    """The batch's signals with their customers (new and already stored alike), or why it was refused."""

    signals: tuple[dict[str, Any], ...] = ()
    created: int = 0
    refusals: tuple[SignalRefusal, ...] = field(default=())


class SignalConflict(Exception):
    """A signal id was stored with other content by a concurrent request after the check."""


def _row(signal: ExternalSignalV1, customer_id: str | None, digest: str) -> dict[str, Any]:
    return {
        "signal_id": signal.signal_id,
        "subject": signal.subject.value,
        "subject_id": signal.subject_id,
        "customer_id": customer_id,
        "source": signal.source,
        "kind": signal.kind.value,
        "severity": signal.severity.value,
        "observed_on": signal.observed_on,
        "value": signal.value,
        "details": signal.details,
        "content_hash": digest,
    }


def _as_stored(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "content_hash"}


async def _check(
    session: AsyncSession, signals: Sequence[ExternalSignalV1]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[SignalRefusal]]:
    """The rows to insert, the rows of retries, and the refusals."""
    loans = await store.loan_customers(session, {s.subject_id for s in signals if s.subject is SignalSubject.LOAN})
    stored = await store.signal_hashes(session, {s.signal_id for s in signals})
    new: list[dict[str, Any]] = []
    retries: list[dict[str, Any]] = []
    refusals: list[SignalRefusal] = []
    for index, signal in enumerate(signals):
        try:
            customer = domain.customer_of(subject=signal.subject, subject_id=signal.subject_id, loan_customers=loans)
        except KeyError:
            refusals.append(SignalRefusal(index, signal.signal_id, 404, f"unknown loan {signal.subject_id}"))
            continue
        digest = domain.fingerprint(signal.model_dump(mode="json"))
        known = stored.get(signal.signal_id)
        if known is None:
            stored[signal.signal_id] = digest  # a second copy in the same batch is a retry of the first
            new.append(_row(signal, customer, digest))
        elif known == digest:
            retries.append(_row(signal, customer, digest))
        else:
            reason = f"signal {signal.signal_id} exists with different content"
            refusals.append(SignalRefusal(index, signal.signal_id, 409, reason))
    return new, retries, refusals


async def ingest_signals(session: AsyncSession, *, signals: Sequence[ExternalSignalV1]) -> Ingested:
    """Store the new signals of a batch; any refusal refuses the whole batch."""
    new, retries, refusals = await _check(session, signals)
    if refusals:
        return Ingested(refusals=tuple(refusals))
    created = 0
    for start in range(0, len(new), _CHUNK):
        chunk = new[start : start + _CHUNK]
        inserted = await store.insert_signals(session, chunk)
        created += len(inserted)
        late = {r["signal_id"]: r["content_hash"] for r in chunk if r["signal_id"] not in inserted}
        if late and (await store.signal_hashes(session, late)) != late:
            raise SignalConflict(f"signal(s) {', '.join(sorted(late))} stored concurrently with other content")
    return Ingested(tuple(_as_stored(r) for r in [*new, *retries]), created)


async def record_industries(session: AsyncSession, *, customers: Sequence[CustomerUpsertedV1]) -> None:
    """Keep each customer's industry from its latest record in the run."""
    latest = {c.customer_id: c.industry for c in customers}
    await store.upsert_industries(session, [{"customer_id": k, "industry": v} for k, v in latest.items()])


async def customer_signals(session: AsyncSession, *, customer_id: str) -> dict[str, Any] | None:
    """The customer's industry and its newest signals (its own, its loans' and its industry's); None if unknown."""
    recorded, industry = await store.industry_of(session, customer_id)
    rows = await store.signals_of_customer(session, customer_id=customer_id, industry=industry, limit=LISTED)
    if not (rows or recorded or await store.has_loans(session, customer_id)):
        return None
    return {"customer_id": customer_id, "industry": industry, "signals": [_as_stored(r) for r in rows]}
