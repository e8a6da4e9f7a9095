"""Promoting a model version is audited in the same transaction."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from postloan_common.db import create_engine, session_factory
from postloan_risk_alert.service import models
from postloan_risk_alert.store.tables import audit_log
from postloan_risk_alert.store.tables import models as model_table

pytestmark = pytest.mark.integration


async def test_promotion_retires_the_champion_and_writes_an_audit_row(migrated_database) -> None:
    engine = create_engine(await migrated_database("postloan_risk_alert"))
    sessions = session_factory(engine)
    try:
        async with sessions.begin() as session:
            champion = await models.champion(session)
            challenger = dataclasses.replace(champion, version="challenger-v2")
            await models.save(session, model=challenger, status=models.CHALLENGER, metrics={"auc": 0.8})
            await models.promote(session, version="challenger-v2", actor="officer-1", correlation_id="corr-9")
        async with sessions() as session:
            statuses = {
                v: s for v, s in (await session.execute(select(model_table.c.version, model_table.c.status))).all()
            }
            rows = (await session.execute(select(audit_log).where(audit_log.c.action == "model.promote"))).all()
    finally:
        await engine.dispose()
    assert statuses == {champion.version: models.RETIRED, "challenger-v2": models.CHAMPION}
    assert len(rows) == 1
    assert (rows[0].actor, rows[0].subject, rows[0].correlation_id) == ("officer-1", "challenger-v2", "corr-9")
    assert rows[0].details["retired"] == [champion.version]
