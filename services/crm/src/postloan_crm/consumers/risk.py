"""risk.scores: risk-score-changed and classification-changed may harden open cases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import ClassificationChangedV1, RiskScoreChangedV1
from postloan_common.messaging.envelope import Envelope
from postloan_crm.consumers.common import StrategyHandler, parse_run, trace
from postloan_crm.domain.strategy import StrategyTable
from postloan_crm.service import cases, projections
from postloan_crm.service.events import Journal


class RiskScoresChanged(StrategyHandler):
    """Note the new PDs and move open cases of riskier loans to harder queues."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, RiskScoreChangedV1)
        await risk_changed(session, events, strategy=self.strategy, note=projections.note_scores, said=pd_said)


class ClassificationsChanged(StrategyHandler):
    """Note the new classifications and move open cases of non-performing loans to harder queues."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, ClassificationChangedV1)
        await risk_changed(
            session, events, strategy=self.strategy, note=projections.note_classifications, said=classification_said
        )


def pd_said(event: RiskScoreChangedV1) -> dict[str, Any]:
    """What a risk-score-changed says of the loan's risk."""
    return {"pd": event.pd}


def classification_said(event: ClassificationChangedV1) -> dict[str, Any]:
    """What a classification-changed says of the loan's risk."""
    return {"classification": event.to_classification.value}


async def risk_changed(
    session: AsyncSession,
    events: Sequence[tuple[Any, Envelope]],
    *,
    strategy: StrategyTable,
    note: Callable[..., Awaitable[None]],
    said: Callable[[Any], dict[str, Any]],
) -> None:
    """Keep the run's risk projections (`note`), then move each open case whose loan's risk now wants a harder queue."""
    journal = Journal()
    # The cases and their risk are read before the run's projections are written.
    book = await cases.CaseBook.load(
        session, [e.loan_id for e, _ in events], strategy=strategy, journal=journal, with_risk=True
    )
    await note(session, events=[e for e, _ in events])
    for event, envelope in events:
        book.note_risk(event.loan_id, **said(event))
        await book.on_risk_changed(event.loan_id, trace=trace(envelope))
    await book.write()
    await journal.write(session)
