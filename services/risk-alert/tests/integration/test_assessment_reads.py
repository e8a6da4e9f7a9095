"""Assessments read back with their change from the previous period; a rising debt ratio raises an alert."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def _assessment(period: str, *, liabilities: str, revenue: str) -> dict:
    return {
        "customer_id": "C-7",
        "period_end": period,
        "revenue": revenue,
        "profit": "50000.00",
        "total_assets": "2000000.00",
        "total_liabilities": liabilities,
        "current_assets": "600000.00",
        "current_liabilities": "500000.00",
        "operating_cash_flow": "20000.00",
        "interest_expense": "25000.00",
    }


async def test_assessments_come_back_with_changes_and_trends_feed_rules(ra_api, token) -> None:
    async with ra_api() as (client, _):
        system, rm = token("system"), token("relationship_manager")
        periods = [("2025-09-30", "1000000.00"), ("2025-12-31", "1200000.00"), ("2026-03-31", "1400000.00")]
        raised = []
        for period, liabilities in periods:
            posted = await client.post(
                "/v1/assessments",
                json=_assessment(period, liabilities=liabilities, revenue="1000000.00"),
                headers=system,
            )
            assert posted.status_code == 201, posted.text
            raised.append(posted.json()["alerts_raised"])
        assert raised == [0, 0, 1], "the debt ratio rose two periods in a row only with the third"

        listed = await client.get("/v1/assessments", params={"customer_id": "C-7", "limit": 2}, headers=rm)
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert [a["period_end"] for a in page["items"]] == ["2026-03-31", "2025-12-31"]
        latest = page["items"][0]
        assert latest["ratios"]["debt_ratio"] == "0.7000"
        assert latest["changes"]["debt_ratio"] == "0.1000"
        assert latest["previous_period_end"] == "2025-12-31"
        assert latest["figures"]["total_liabilities"] == "1400000.00"
        rest = await client.get(
            "/v1/assessments", params={"customer_id": "C-7", "cursor": page["next_cursor"]}, headers=rm
        )
        oldest = rest.json()["items"]
        assert [a["period_end"] for a in oldest] == ["2025-09-30"] and rest.json()["next_cursor"] is None
        assert oldest[0]["previous_period_end"] is None
        assert all(v is None for v in oldest[0]["changes"].values())

        one = await client.get(f"/v1/assessments/{latest['id']}", headers=token("analyst"))
        assert one.status_code == 200 and one.json() == latest
        assert (await client.get("/v1/assessments/999999", headers=rm)).status_code == 404
        assert (await client.get("/v1/assessments", headers=token("collector"))).status_code == 403
        assert (await client.get("/v1/assessments", params={"cursor": "junk"}, headers=rm)).status_code == 400

        alerts = (await client.get("/v1/alerts", params={"subject_id": "C-7"}, headers=token())).json()["items"]
        assert [a["rule_id"] for a in alerts] == ["debt-ratio-rising-2"]
