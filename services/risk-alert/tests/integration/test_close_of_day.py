"""Close of day straight on the database: events built in SQL honour their contracts, work follows change."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select, text

from postloan_common.contracts import parse_data
from postloan_common.db import create_engine, session_factory
from postloan_common.messaging.envelope import Envelope
from postloan_risk_alert.service.close_of_day import rescore
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store.tables import classifications, loan_scores, model_evaluations, outbox

pytestmark = pytest.mark.integration

D1 = date(2026, 5, 14)

SEED = """
INSERT INTO loan_features (loan_id, customer_id, product, segment, principal, outstanding, overdue, annual_rate,
    disbursed_on, maturity_date, installment_count, overdue_since, episode_started_on, episode_max,
    amount_due, amount_paid, payments_count, missed_count, consecutive_misses)
VALUES
    ('L-late', 'C-1', 'consumer-12m', 'retail', 12000, 6000, 500, 0.12, '2025-12-01', '2026-12-01', 12,
     CAST(:late AS date), CAST(:late AS date), 35, 6000, 5500, 5, 2, 2),
    ('L-fine', 'C-2', 'consumer-12m', 'retail', 12000, 6000, 0, 0.12, '2025-12-01', '2026-12-01', 12,
     NULL, NULL, 0, 6000, 6000, 6, 0, 0),
    ('L-corp', 'C-3', 'corp-loan', 'corporate', 500000, 400000, 0, 0.08, '2025-12-01', '2026-12-01', 12,
     NULL, NULL, 0, 20000, 20000, 6, 0, 0)
"""


async def _events(sessions) -> list[Envelope]:
    async with sessions() as session:
        rows = (await session.execute(select(outbox.c.event_id, outbox.c.payload))).all()
    envelopes = [Envelope.from_bytes(r.payload) for r in rows]
    for row, envelope in zip(rows, envelopes, strict=True):
        assert str(row.event_id) == str(envelope.id)
        assert UUID(str(envelope.id)).version == 7
        parse_data(envelope)  # every event built in SQL honours its contract
    assert len({e.id for e in envelopes}) == len(envelopes)
    return envelopes


async def test_close_of_day_publishes_valid_events_and_rewrites_only_what_moved(migrated_database, devstack) -> None:
    url = await migrated_database("postloan_risk_alert")
    settings = Settings(database_url=url, kafka_bootstrap_servers=devstack.kafka_bootstrap)
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await session.execute(text(SEED), {"late": D1 - timedelta(days=35)})
        stats = await rescore(session, business_date=D1, settings=settings, correlation_id="corr-1")
    assert stats.loans == 3
    first = await _events(sessions)
    by_type = {(e.type, e.subject) for e in first}
    assert {("risk-score-changed", s) for s in ("L-late", "L-fine", "L-corp")} <= by_type
    assert ("classification-changed", "L-late") in by_type
    assert ("classification-changed", "L-fine") not in by_type, "a normal first class is quiet"
    assert ("risk-alert-raised", "L-late") in by_type
    assert all(e.correlation_id == "corr-1" for e in first)
    score = next(e for e in first if e.type == "risk-score-changed" and e.subject == "L-late")
    assert score.data["previous_score"] is None
    async with sessions() as session:
        stored = (await session.execute(select(loan_scores).where(loan_scores.c.loan_id == "L-late"))).one()
        ecl_before = dict((await session.execute(select(classifications.c.loan_id, classifications.c.ecl))).all())
    assert score.data["pd"] == format(stored.pd, "f")
    assert score.data["score"] == stored.score
    assert score.data["reason_codes"] == list(stored.reason_codes)

    # Next day L-late is paid up: its alerts resolve; L-fine (clean retail) is not even re-scored.
    async with sessions.begin() as session:
        await session.execute(
            text(
                "UPDATE loan_features SET overdue_since = NULL, episode_started_on = NULL, overdue = 0, "
                "consecutive_misses = 0, last_cured_on = :d, dirty = true WHERE loan_id = 'L-late'"
            ),
            {"d": D1 + timedelta(days=1)},
        )
        stats = await rescore(session, business_date=D1 + timedelta(days=1), settings=settings)
    assert stats.loans == 2, "only the changed loan and the non-retail one"
    events = (await _events(sessions))[len(first) :]
    resolved = [e for e in events if e.type == "risk-alert-resolved"]
    assert {e.subject for e in resolved} == {"L-late"}
    assert all(e.data["resolved_by"] == "risk-alert" for e in resolved)
    assert [e.data["to_classification"] for e in events if e.type == "classification-changed"] == ["normal"]
    async with sessions() as session:
        ecl_after = dict((await session.execute(select(classifications.c.loan_id, classifications.c.ecl))).all())
    assert ecl_after["L-corp"] == ecl_before["L-corp"], "an ECL that drifted within the tolerance stays"
    assert ecl_after["L-late"] != ecl_before["L-late"]

    # Month end is the reporting date: every ECL is recomputed and stored exactly.
    async with sessions.begin() as session:
        stats = await rescore(session, business_date=date(2026, 5, 31), settings=settings)
    assert stats.loans == 3
    async with sessions() as session:
        ecl_month_end = dict((await session.execute(select(classifications.c.loan_id, classifications.c.ecl))).all())
    assert ecl_month_end["L-corp"] != ecl_before["L-corp"]
    assert ecl_month_end["L-fine"] != ecl_before["L-fine"]
    # Month end also evaluates the models on labelled history, for the performance endpoint to read.
    async with sessions() as session:
        evaluated = (
            await session.execute(select(model_evaluations.c.version, model_evaluations.c.labelled_rows))
        ).all()
    assert [tuple(r) for r in evaluated] == [("default-v1", 0)]
    await engine.dispose()
