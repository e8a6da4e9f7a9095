"""risk.scores: risk-score-changed and classification-changed may harden open cases."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import ClassificationChangedV1, RiskScoreChangedV1
from postloan_common.messaging.envelope import Envelope
from postloan_crm.consumers.common import parse_run, trace
from postloan_crm.domain.strategy import StrategyTable
from postloan_crm.service import cases, projections
from postloan_crm.service.events import Journal


class RiskScoresChanged:
    """Note the new PDs and move open cases of riskier loans to harder queues."""

    def __init__(self, strategy: StrategyTable) -> None:
        self.strategy = strategy

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, RiskScoreChangedV1)
        journal = Journal()
        book = await cases.CaseBook.load(
            session, [e.loan_id for e, _ in events], strategy=self.strategy, journal=journal, with_risk=True
        )
        await projections.note_scores(session, events=[e for e, _ in events])
        for event, envelope in events:
            book.note_risk(event.loan_id, pd=event.pd)
            await book.on_risk_changed(event.loan_id, trace=trace(envelope))
        await book.write()
        await journal.write(session)


class ClassificationsChanged:
    """Note the new classifications and move open cases of non-performing loans to harder queues."""

    def __init__(self, strategy: StrategyTable) -> None:
        self.strategy = strategy

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, ClassificationChangedV1)
        journal = Journal()
        book = await cases.CaseBook.load(
            session, [e.loan_id for e, _ in events], strategy=self.strategy, journal=journal, with_risk=True
        )
        await projections.note_classifications(session, events=[e for e, _ in events])
        for event, envelope in events:
            book.note_risk(event.loan_id, classification=event.to_classification.value)
            await book.on_risk_changed(event.loan_id, trace=trace(envelope))
        await book.write()
        await journal.write(session)
