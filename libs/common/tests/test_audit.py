"""The shared audit log: same table as the services declare, one row per call in the caller's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.schema import CreateIndex, CreateTable

from postloan_common.audit import audit_log_table, audit_recorder, record_audit
from postloan_common.db import create_engine, new_metadata, session_factory


@pytest.mark.parametrize("package", ["postloan_crm", "postloan_repayment_monitor", "postloan_risk_alert"])
def test_the_shared_table_matches_each_services_declaration(package):
    tables = pytest.importorskip(f"{package}.store.tables")
    theirs = tables.audit_log
    ours = audit_log_table(new_metadata(), subject_index=bool(theirs.indexes))
    assert str(CreateTable(ours)) == str(CreateTable(theirs))
    assert sorted(str(CreateIndex(i)) for i in ours.indexes) == sorted(str(CreateIndex(i)) for i in theirs.indexes)


@pytest.mark.integration
async def test_record_audit_writes_one_row_and_stores_empty_correlation_as_null(database_url):
    metadata = new_metadata()
    table = audit_log_table(metadata, subject_index=True)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with session_factory(engine)() as session, session.begin():
            await record_audit(session, table, actor="u1", action="loan.update", subject="L-1", correlation_id="")
            # The recorder the services bind to their own table writes through the same function.
            await audit_recorder(table)(
                session, actor="u2", action="pii.read", subject="C-1", details={"f": 1}, correlation_id="c"
            )
        async with session_factory(engine)() as session:
            rows = (await session.execute(select(table).order_by(table.c.id))).mappings().all()
    finally:
        await engine.dispose()
    assert [(r["actor"], r["details"], r["correlation_id"]) for r in rows] == [("u1", {}, None), ("u2", {"f": 1}, "c")]
    assert all(r["at"] is not None for r in rows)
