"""repayment.loans and crm.activities events through the real Consumer, ending in risk.scores events."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from ra_testkit import from_repayment_monitor, loan_registered, produce
from sqlalchemy import select, text

from postloan_common.contracts import (
    DayClosedV1,
    DelinquencyChangedV1,
    PaymentMissedV1,
    PromiseBrokenV1,
    make_envelope,
    parse_data,
)
from postloan_common.db import create_engine, session_factory
from postloan_common.messaging.consumer import Consumer, ConsumerConfig
from postloan_common.messaging.envelope import Envelope
from postloan_risk_alert.consumers import make_handlers
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store.tables import classifications, inbox, loan_features, loan_scores, outbox

pytestmark = pytest.mark.integration

D0 = date(2026, 3, 1)


def _missed(loan_id: str, customer_id: str, due: date, on: date) -> Envelope:
    return from_repayment_monitor(
        data=PaymentMissedV1(
            loan_id=loan_id,
            customer_id=customer_id,
            installment_seq=9,
            due_date=due,
            amount_overdue=Decimal("1066.19"),
            currency="CNY",
            dpd=(on - due).days,
            bucket="M1",
        ),
        subject=loan_id,
        on=on,
    )


def _bucket(loan_id: str, customer_id: str, dpd: int, on: date) -> Envelope:
    return from_repayment_monitor(
        data=DelinquencyChangedV1(
            loan_id=loan_id,
            customer_id=customer_id,
            from_bucket="M1",
            to_bucket="M2",
            dpd=dpd,
            overdue_amount=Decimal("2132.38"),
            outstanding=Decimal("4000.00"),
            currency="CNY",
        ),
        subject=loan_id,
        on=on,
    )


def _broken(loan_id: str, customer_id: str, n: int) -> Envelope:
    return make_envelope(
        data=PromiseBrokenV1(
            promise_id=f"P-{n}",
            customer_id=customer_id,
            loan_id=loan_id,
            amount=Decimal("100.00"),
            amount_paid=Decimal("0.00"),
            currency="CNY",
            promised_date=D0,
        ),
        source="crm",
        subject=customer_id,
        business_date=D0,
    )


def _day_closed(day: date) -> Envelope:
    # The partition's tallies of the day; risk-alert records only which partitions have closed.
    tallies = {"loans_processed": 2, "payments_due": 0, "payments_missed": 1, "delinquency_changes": 1}
    return from_repayment_monitor(
        DayClosedV1(business_date=day, partition=0, partitions=1, **tallies), subject="day-closed", on=day
    )


async def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.25)


async def test_events_through_the_consumer_end_in_classification_and_alert_events(
    migrated_database, devstack, unique_topic, make_topics
) -> None:
    url = await migrated_database("postloan_risk_alert")
    loans_topic, crm_topic = unique_topic("repayment.loans"), unique_topic("crm.activities")
    await make_topics(loans_topic, crm_topic, partitions=1)
    settings = Settings(database_url=url, kafka_bootstrap_servers=devstack.kafka_bootstrap)
    engine = create_engine(url)
    sessions = session_factory(engine)
    consumer = Consumer(
        ConsumerConfig(
            name="risk-alert-test",
            topics=[loans_topic, crm_topic],
            bootstrap_servers=devstack.kafka_bootstrap,
            session_timeout_ms=6000,
        ),
        sessions=sessions,
        inbox=inbox,
        outbox=outbox,
        batch_handlers=make_handlers(settings),
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        due = date(2026, 1, 5)
        await produce(
            devstack.kafka_bootstrap,
            loans_topic,
            [
                loan_registered("L-1", customer_id="C-1"),
                loan_registered("L-2", customer_id="C-2"),
                _missed("L-1", "C-1", due, due + timedelta(days=1)),
                _bucket("L-1", "C-1", 31, due + timedelta(days=31)),
                _day_closed(D0),
            ],
        )

        async def scored() -> bool:
            async with sessions() as session:
                return (await session.execute(text("SELECT count(*) FROM scoring_runs"))).scalar() == 1

        await _wait_for(scored)
        # CRM activities on the other topic fold into the loan's features for the next close of day.
        await produce(devstack.kafka_bootstrap, crm_topic, [_broken("L-1", "C-1", 1), _broken("L-1", "C-1", 2)])

        async def promises() -> bool:
            async with sessions() as session:
                value = (
                    await session.execute(
                        select(loan_features.c.broken_promises).where(loan_features.c.loan_id == "L-1")
                    )
                ).scalar()
                return value == 2

        await _wait_for(promises)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)

    async with sessions() as session:
        feature = (await session.execute(select(loan_features).where(loan_features.c.loan_id == "L-1"))).one()
        assert feature.dpd == (D0 - due).days
        assert feature.max_dpd_3m == feature.dpd
        assert feature.missed_count == 1
        assert feature.dirty, "the broken promises arrived after the close of day"
        classes = dict((await session.execute(select(classifications.c.loan_id, classifications.c.category))).all())
        assert classes == {"L-1": "special_mention", "L-2": "normal"}
        scores = {r.loan_id: r for r in (await session.execute(select(loan_scores))).all()}
        assert scores["L-1"].score < scores["L-2"].score
        assert scores["L-1"].model_version == "default-v1"
        events = [Envelope.from_bytes(r.payload) for r in (await session.execute(select(outbox.c.payload))).all()]
    for envelope in events:
        parse_data(envelope)  # every published event honours its contract
    by_type: dict[str, list[Envelope]] = {}
    for envelope in events:
        by_type.setdefault(envelope.type, []).append(envelope)
    changed = [e for e in by_type["classification-changed"] if e.subject == "L-1"]
    assert len(changed) == 1
    assert changed[0].data["to_classification"] == "special_mention"
    assert changed[0].data["ifrs9_stage"] == 2
    assert changed[0].data["reason"] == "dpd_floor"
    assert not [e for e in by_type["classification-changed"] if e.subject == "L-2"], "a normal first class is quiet"
    alerts = {(e.data["rule_id"], e.subject) for e in by_type["risk-alert-raised"]}
    assert ("dpd-over-30", "L-1") in alerts
    assert ("consecutive-misses", "L-1") not in alerts
    assert {e.subject for e in by_type["risk-score-changed"]} == {"L-1", "L-2"}
    await engine.dispose()
