"""Turn events of every topic into analytics facts; refold the touched loans' state intervals.

Set-based at volume: a run of events costs a handful of statements whatever its length (arrays
joined with unnest() on the session's asyncpg connection), and a loan's intervals are refolded
only from the earliest day the run changed, so the cost of an event does not grow with the
loan's history. One collector per topic (`repayment`, `risk`, `crm`) says what each event writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import crm, repayment, risk
from postloan_common.contracts.registry import UnknownContract, parse_data
from postloan_common.messaging.consumer import BatchHook, PermanentError
from postloan_common.messaging.envelope import Envelope
from postloan_reporting.service import snapshots
from postloan_reporting.service.ingest import crm_events, repayment_events, risk_events
from postloan_reporting.service.ingest.changes import FROM_THE_START, Changes
from postloan_reporting.service.ingest.refold import refold
from postloan_reporting.store.facts import loan_keys

__all__ = ["FROM_THE_START", "apply_events", "batch_handlers", "loan_keys", "refold"]

Collector = Callable[[Changes, Envelope, BaseModel], None]
# Each contract module's events go to the collector of that topic.
_COLLECTORS: dict[type[BaseModel], Collector] = {
    **{m: repayment_events.collect for m in repayment.EVENTS},
    **{m: risk_events.collect for m in risk.EVENTS},
    **{m: crm_events.collect for m in crm.EVENTS},
}


def _parse(envelope: Envelope) -> BaseModel:
    try:
        return parse_data(envelope)
    except (ValidationError, UnknownContract) as exc:
        raise PermanentError(f"{envelope.type} v{envelope.version}: {exc}") from exc


def _loan_id(data: BaseModel) -> str | None:
    value = getattr(data, "loan_id", None)
    if value is None and isinstance(data, risk.RiskAlertRaisedV1 | risk.RiskAlertResolvedV1):
        return None
    return value


def _folds(data: BaseModel) -> bool:
    """True for the events that change a loan's terms or facts (and so its intervals)."""
    return isinstance(data, repayment_events.FOLDING | risk_events.FOLDING)


async def apply_events(session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
    """Apply a run of events in one transaction (the consumer's batch handler for every type)."""
    parsed = [(envelope, _parse(envelope)) for envelope in envelopes]
    day_closes = [d for _, d in parsed if isinstance(d, repayment.DayClosedV1)]
    others = [(e, d) for e, d in parsed if not isinstance(d, repayment.DayClosedV1)]
    keys = await loan_keys(
        session,
        loan_ids=(i for _, d in others if (i := _loan_id(d)) is not None),
        lock=any(_folds(d) for _, d in others),
    )
    changes = Changes(keys=keys)
    for envelope, data in others:
        if (collect := _COLLECTORS.get(type(data))) is not None:
            collect(changes, envelope, data)
    await changes.write(session)
    await refold(session, refold_from=changes.refold_from, stale_from=changes.changed_from)
    for day_closed in day_closes:
        await snapshots.record_day_close(
            session,
            business_date=day_closed.business_date,
            partition=day_closed.partition,
            partitions=day_closed.partitions,
        )


def batch_handlers() -> Mapping[str, BatchHook]:
    """The consumer's batch handlers: every event type reporting learns from."""
    types = [m.event_type for m in (*repayment.EVENTS, *risk.EVENTS, *crm.EVENTS)]
    return dict.fromkeys(types, apply_events)
