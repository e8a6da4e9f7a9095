"""The close of day's `collateral-coverage-changed` events: one statement for the whole book.

Each loan with collateral linked, or with a secured value emitted before, gets its secured value
(domain/collateral.py `secured_value`, here in SQL: a loan no longer active counts 0); those whose
value differs from the last one emitted (`coverage_changed`) get an event through the outbox and the
value recorded in `loan_features.published_secured_value`, in the same statement.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_risk_alert.domain import collateral
from postloan_risk_alert.store.events import emit_sql, envelope_params

EVENT_TYPE = "collateral-coverage-changed"

_ITEM = collateral.haircut_value_sql(value="coalesce(cl.allocated_value, k.value)", haircut="k.haircut")
SECURED_SQL = f"""
    SELECT f.loan_id, f.customer_id, f.currency, f.published_secured_value AS published,
        CASE WHEN f.status = 'active' THEN coalesce((
            SELECT sum({_ITEM})
            FROM collateral_links cl JOIN collateral k ON k.collateral_id = cl.collateral_id
            WHERE cl.loan_id = f.loan_id), 0) ELSE 0 END AS secured
    FROM loan_features f
    WHERE EXISTS (SELECT 1 FROM collateral_links cl WHERE cl.loan_id = f.loan_id)
        OR coalesce(f.published_secured_value, 0) <> 0
"""

COVERAGE_EVENTS = f"""
WITH moved AS (
    SELECT * FROM ({SECURED_SQL}) s WHERE s.secured <> coalesce(s.published, 0)
), recorded AS (
    UPDATE loan_features f SET published_secured_value = m.secured FROM moved m WHERE f.loan_id = m.loan_id
), d AS (
    SELECT loan_id AS subject, json_build_object(
        'loan_id', loan_id, 'customer_id', customer_id,
        'secured_value', secured::numeric(18, 2)::text, 'currency', currency
    ) AS data
    FROM moved ORDER BY loan_id
)
{emit_sql(source="d", type_=EVENT_TYPE, first_param=1)}
"""


async def emit_coverage_changes(session: AsyncSession, *, business_date: date, correlation: str | None) -> int:
    """Emit `collateral-coverage-changed` for each loan whose secured value moved; the number emitted."""
    raw = await driver_connection(session)
    status = await raw.execute(COVERAGE_EVENTS, *envelope_params(business_date, correlation, EVENT_TYPE))
    return int(status.rsplit(" ", 1)[-1])
