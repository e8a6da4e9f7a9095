"""Close of day schedules reviews: first after disbursement, routine by classification, triggered, overdue."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from postloan_common.contracts import parse_data
from postloan_common.db import create_engine, session_factory
from postloan_common.messaging.envelope import Envelope
from postloan_risk_alert.domain.reviews import ReviewPolicy, routine_interval, terms_for, triggered_due
from postloan_risk_alert.service.close_of_day import rescore
from postloan_risk_alert.service.review_scheduling import schedule_reviews
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store.tables import outbox, reviews

pytestmark = pytest.mark.integration

D1 = date(2026, 5, 14)  # a Thursday

SEED = """
INSERT INTO loan_features (loan_id, customer_id, product, segment, principal, outstanding, overdue, annual_rate,
    disbursed_on, maturity_date, installment_count, overdue_since, episode_started_on, episode_max,
    amount_due, amount_paid, payments_count, missed_count, consecutive_misses, status)
VALUES
    ('L-new', 'C-1', 'consumer-12m', 'retail', 12000, 12000, 0, 0.12, CAST(:new AS date), '2027-05-01', 12,
     NULL, NULL, 0, 0, 0, 0, 0, 0, 'active'),
    ('L-old', 'C-2', 'consumer-12m', 'retail', 12000, 6000, 0, 0.12, '2025-12-01', '2026-12-01', 12,
     NULL, NULL, 0, 6000, 6000, 6, 0, 0, 'active'),
    ('L-corp', 'C-3', 'corp-loan', 'corporate', 500000, 400000, 0, 0.08, CAST(:corp AS date), '2027-05-01', 12,
     NULL, NULL, 0, 0, 0, 0, 0, 0, 'active'),
    ('L-gone', 'C-4', 'consumer-12m', 'retail', 12000, 0, 0, 0.12, '2026-05-01', '2027-05-01', 12,
     NULL, NULL, 0, 0, 0, 0, 0, 0, 'closed')
"""


async def _events(sessions, kind: str) -> list[Envelope]:
    async with sessions() as session:
        payloads = (await session.execute(select(outbox.c.payload))).scalars().all()
    envelopes = [Envelope.from_bytes(p) for p in payloads]
    for envelope in envelopes:
        parse_data(envelope)  # the events built in SQL honour their contracts
    return [e for e in envelopes if e.type == kind]


async def _reviews(sessions) -> dict[tuple[str, str], dict]:
    async with sessions() as session:
        rows = (await session.execute(select(reviews))).all()
    return {(r.loan_id, r.kind): dict(r._mapping) for r in rows}


async def test_close_of_day_creates_first_routine_and_triggered_reviews(migrated_database, devstack) -> None:
    url = await migrated_database("postloan_risk_alert")
    settings = Settings(database_url=url, kafka_bootstrap_servers=devstack.kafka_bootstrap)
    engine = create_engine(url)
    sessions = session_factory(engine)
    policy = ReviewPolicy()
    async with sessions.begin() as session:
        await session.execute(text(SEED), {"new": D1 - timedelta(days=20), "corp": D1 - timedelta(days=5)})
        stats = await rescore(session, business_date=D1, settings=settings, correlation_id="corr-r")
    found = await _reviews(sessions)
    # Retail first review 30 days after disbursement (within the 14-day notice); non-retail after 15.
    assert found[("L-new", "first")]["due_on"] == D1 + timedelta(days=10)
    assert found[("L-new", "first")]["status"] == "due"
    assert found[("L-corp", "first")]["due_on"] == D1 + timedelta(days=10)
    # A loan booked long ago owes its first review already, and it is overdue from the first day.
    assert found[("L-old", "first")]["status"] == "overdue"
    assert not any(loan == "L-gone" for loan, _ in found), "a closed loan gets no review"
    # The overdue first review anchors the routine one: normal retail every 180 days.
    old_routine = found.get(("L-old", "routine"))
    assert old_routine is None or old_routine["due_on"] == date(2025, 12, 31) + timedelta(days=180)
    due = await _events(sessions, "review-due")
    assert {(e.subject, e.data["kind"]) for e in due} == set(found)
    assert all(e.correlation_id == "corr-r" for e in due)
    assert [e.subject for e in await _events(sessions, "review-overdue")] == ["L-old"]
    assert stats.reviews_created == len(found) and stats.reviews_overdue == 1

    # Next day: a high-severity alert on L-new, L-corp downgraded, L-old closes; nothing is created twice.
    d2 = D1 + timedelta(days=1)
    async with sessions.begin() as session:
        await session.execute(
            text(
                "INSERT INTO alerts (alert_id, rule_id, subject_type, subject_id, customer_id, severity, status,"
                " message, raised_on) VALUES ('A-1', 'dpd-30', 'loan', 'L-new', 'C-1', 'high', 'open', 'late', :d)"
            ),
            {"d": d2},
        )
        await session.execute(text("UPDATE classifications SET category = 'substandard' WHERE loan_id = 'L-corp'"))
        await session.execute(text("UPDATE loan_features SET status = 'closed' WHERE loan_id = 'L-old'"))
        second = await schedule_reviews(session, business_date=d2, correlation_id=None)
    found = await _reviews(sessions)
    trig_due = triggered_due(business_date=d2, policy=policy)
    assert trig_due == date(2026, 5, 22), "5 business days after a Friday skip the weekend"
    assert found[("L-new", "triggered")]["reason"] == "high_severity_alert"
    assert found[("L-corp", "triggered")]["reason"] == "classification_downgrade"
    assert found[("L-corp", "triggered")]["due_on"] == trig_due
    assert found[("L-old", "first")]["status"] == "cancelled"
    assert second.created == 2 and second.cancelled >= 1

    # A completed review moves the routine anchor: the interval of today's classification (NPL: 30 days).
    async with sessions.begin() as session:
        await session.execute(
            text("UPDATE reviews SET status = 'done', completed_on = :d WHERE loan_id = 'L-corp' AND kind = 'first'"),
            {"d": d2},
        )
        await schedule_reviews(session, business_date=d2 + timedelta(days=1), correlation_id=None)
    assert ("L-corp", "routine") not in await _reviews(sessions), "created only 14 days ahead of its date"
    async with sessions.begin() as session:
        await schedule_reviews(session, business_date=d2 + timedelta(days=16), correlation_id=None)
    routine = (await _reviews(sessions))[("L-corp", "routine")]
    terms = terms_for(policy, product="corp-loan", segment="corporate")
    interval = routine_interval(classification="substandard", outstanding=Decimal("400000"), terms=terms)
    assert interval == 30
    assert routine["due_on"] == d2 + timedelta(days=interval)
    assert routine["reason"] == "routine_substandard"
    await engine.dispose()
