"""risk.scores: risk-alert-raised, risk-alert-resolved and review-due reach the customer's people."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import ReviewDueV1, RiskAlertRaisedV1, RiskAlertResolvedV1
from postloan_common.messaging.envelope import Envelope
from postloan_crm.consumers.common import StrategyHandler, parse_run, trace
from postloan_crm.service import alerts


class RiskAlertsRaised(StrategyHandler):
    """A raised alert goes on the timelines, ranks the case higher, and may open a watch case."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, RiskAlertRaisedV1)
        await alerts.raise_alerts(session, [(e, trace(env)) for e, env in events], strategy=self.strategy)


class RiskAlertsResolved(StrategyHandler):
    """A resolved or dismissed alert is closed, and the timelines say so."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, RiskAlertResolvedV1)
        await alerts.resolve_alerts(session, [(e, trace(env)) for e, env in events], strategy=self.strategy)


class ReviewsDue(StrategyHandler):
    """A scheduled post-loan review goes on the customer's and the case's timeline."""

    async def __call__(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> None:
        events = parse_run(envelopes, ReviewDueV1)
        await alerts.reviews_due(session, [(e, trace(env)) for e, env in events], strategy=self.strategy)
