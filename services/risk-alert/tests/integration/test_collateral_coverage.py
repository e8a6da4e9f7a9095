"""collateral-coverage-changed: the close of day emits a loan's secured value once per change, 0 on release."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from ra_testkit import open_database
from sqlalchemy import text

from postloan_common.contracts import CollateralCoverageChangedV1
from postloan_risk_alert.service.close_of_day import rescore

pytestmark = pytest.mark.integration

D1 = date(2026, 5, 14)
SEED = """
INSERT INTO loan_features (loan_id, customer_id, product, segment, principal, outstanding, annual_rate, disbursed_on,
    maturity_date, installment_count)
VALUES ('L-sec', 'C-1', 'corp-loan', 'corporate', 900000, 900000, 0.08, '2026-01-01', '2028-01-01', 24),
       ('L-bare', 'C-2', 'corp-loan', 'corporate', 900000, 900000, 0.08, '2026-01-01', '2028-01-01', 24)
"""
HOUSE = {
    "collateral_id": "K-1", "customer_id": "C-1", "kind": "real_estate", "description": "office floor",
    "value": "1000000.00", "valued_on": "2026-03-01", "valuer": "Valuer & Co",
}  # fmt: skip
CAR = {**HOUSE, "collateral_id": "K-2", "kind": "vehicle", "description": "truck", "value": "1000.05"}
EVENTS = (
    "SELECT key, convert_from(payload, 'UTF8')::json->>'business_date' AS day,"
    " convert_from(payload, 'UTF8')::json->'data' AS data FROM outbox"
    " WHERE event_type = 'collateral-coverage-changed' ORDER BY event_id"
)


async def test_secured_value_is_emitted_when_it_changes_and_zero_on_release(ra_api, token) -> None:
    async with ra_api() as (client, url):
        settings, engine, sessions = open_database(url, "unused:1")

        async def close(day: date) -> list[tuple[str, str, dict]]:
            async with sessions.begin() as session:
                before = len((await session.execute(text(EVENTS))).all())
                stats = await rescore(session, business_date=day, settings=settings)
                rows = (await session.execute(text(EVENTS))).all()[before:]
            new = [(r.key, r.day, r.data if isinstance(r.data, dict) else json.loads(r.data)) for r in rows]
            assert stats.coverage_events == len(new)
            return new

        async with sessions.begin() as session:
            await session.execute(text(SEED))
        assert await close(D1) == []  # no collateral anywhere: nothing to say
        ro = token("risk_officer", sub="ro-1")
        for item in (HOUSE, CAR):
            assert (await client.post("/v1/collateral", json=item, headers=ro)).status_code == 201
        links = {"K-1": {"loan_id": "L-sec", "allocated_value": "500000.00"}, "K-2": {"loan_id": "L-sec"}}
        for collateral_id, body in links.items():
            linked = await client.post(f"/v1/collateral/{collateral_id}/loans", json=body, headers=ro)
            assert linked.status_code == 201, linked.text

        # 500000.00 × (1 − 0.30) + 1000.05 × (1 − 0.40) = 350000.00 + 600.03 (600.030 rounded) = 350600.03.
        first = await close(D1 + timedelta(days=1))
        assert first == [
            (
                "L-sec",
                str(D1 + timedelta(days=1)),
                {"loan_id": "L-sec", "customer_id": "C-1", "secured_value": "350600.03", "currency": "CNY"},
            )
        ]
        assert CollateralCoverageChangedV1.model_validate(first[0][2]).secured_value == Decimal("350600.03")
        assert await close(D1 + timedelta(days=2)) == []  # unchanged: nothing

        assert (await client.delete("/v1/collateral/K-2/loans/L-sec", headers=ro)).status_code == 200
        partly = await close(D1 + timedelta(days=3))
        assert [e[2]["secured_value"] for e in partly] == ["350000.00"]

        assert (await client.delete("/v1/collateral/K-1/loans/L-sec", headers=ro)).status_code == 200
        released = await close(D1 + timedelta(days=4))
        assert [(e[0], e[2]["secured_value"]) for e in released] == [("L-sec", "0.00")]
        assert await close(D1 + timedelta(days=5)) == []  # 0 stays 0: nothing more
        async with sessions() as session:
            kept = dict(
                (await session.execute(text("SELECT loan_id, published_secured_value FROM loan_features"))).all()
            )
        assert kept == {"L-sec": Decimal("0.00"), "L-bare": None}
        await engine.dispose()
