"""The risk-alert API: rules with validation, assessments raising alerts, the alert lifecycle, models."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def _assessment(customer: str, period: str, *, current_assets: str, revenue: str = "1000000.00") -> dict:
    return {
        "customer_id": customer,
        "period_end": period,
        "revenue": revenue,
        "profit": "50000.00",
        "total_assets": "2000000.00",
        "total_liabilities": "1000000.00",
        "current_assets": current_assets,
        "current_liabilities": "500000.00",
        "operating_cash_flow": "-20000.00",
        "interest_expense": "25000.00",
    }


async def test_rules_are_validated_with_json_paths_and_need_a_risk_officer(ra_api, token) -> None:
    async with ra_api() as (client, _):
        listed = await client.get("/v1/rules", headers=token("analyst"))
        assert listed.status_code == 200
        assert {"dpd-over-30", "current-ratio-below-1", "revenue-down-30"} <= {
            r["rule_id"] for r in listed.json()["items"]
        }

        rule = {
            "rule_id": "grade-e-and-overdue",
            "name": "Grade E and overdue",
            "condition": {
                "all": [{"feature": "grade", "op": "in", "value": ["E"]}, {"feature": "dpd", "op": ">", "value": 0}]
            },
            "severity": "high",
        }
        assert (await client.post("/v1/rules", json=rule, headers=token("analyst"))).status_code == 403
        created = await client.post("/v1/rules", json=rule, headers=token("risk_officer"))
        assert created.status_code == 201, created.text
        assert created.json()["version"] == 1
        assert (await client.post("/v1/rules", json=rule, headers=token("risk_officer"))).status_code == 409

        bad = {
            **rule,
            "condition": {
                "all": [{"feature": "grade", "op": "in", "value": ["E"]}, {"feature": "dpd", "op": "~", "value": 0}]
            },
        }
        rejected = await client.put(
            f"/v1/rules/{rule['rule_id']}", json={k: v for k, v in bad.items() if k != "rule_id"}, headers=token()
        )
        assert rejected.status_code == 422
        assert rejected.headers["content-type"].startswith("application/problem+json")
        assert rejected.json()["errors"][0]["path"] == "$.condition.all[1].op"
        assert "$.condition.all[1].op" in rejected.json()["detail"]

        changed = {**rule, "severity": "critical"}
        del changed["rule_id"]
        updated = await client.put(f"/v1/rules/{rule['rule_id']}", json=changed, headers=token())
        assert updated.status_code == 200
        assert updated.json()["version"] == 2
        assert updated.json()["severity"] == "critical"
        assert (await client.put("/v1/rules/nope", json=changed, headers=token())).status_code == 404
        assert (await client.get("/v1/rules")).status_code == 401

        # Hysteresis: a resolve condition of its own, validated with its own paths.
        bad_resolve = {**changed, "resolve_condition": {"feature": "dpd", "op": "=", "value": 0}}
        rejected = await client.put(f"/v1/rules/{rule['rule_id']}", json=bad_resolve, headers=token())
        assert rejected.status_code == 422
        assert [e["path"] for e in rejected.json()["errors"]] == ["$.resolve_condition.op"]
        with_resolve = {**changed, "resolve_condition": {"feature": "dpd", "op": "==", "value": 0}}
        updated = await client.put(f"/v1/rules/{rule['rule_id']}", json=with_resolve, headers=token())
        assert updated.status_code == 200, updated.text
        assert updated.json()["resolve_condition"] == {"feature": "dpd", "op": "==", "value": 0}
        shipped = (await client.get("/v1/rules/first-payment-default", headers=token())).json()
        assert shipped["resolve_condition"] == {"feature": "dpd", "op": "==", "value": 0}
        assert (await client.get("/v1/rules/score-jump", headers=token())).json()["version"] == 2
        assert (await client.get("/v1/rules/repeat-miss-20dpd", headers=token())).status_code == 200


async def test_assessment_ratios_raise_one_alert_that_goes_through_its_lifecycle(ra_api, token) -> None:
    async with ra_api() as (client, _):
        first = await client.post(
            "/v1/assessments",
            json=_assessment("C-9", "2025-12-31", current_assets="400000.00"),
            headers=token("system"),
        )
        assert first.status_code == 201, first.text
        ratios = first.json()["ratios"]
        assert ratios["current_ratio"] == "0.8000"
        assert ratios["debt_ratio"] == "0.5000"
        assert ratios["interest_coverage"] == "3.0000"
        assert ratios["revenue_change"] is None
        assert first.json()["alerts_raised"] == 1
        assert (
            await client.post(
                "/v1/assessments", json=_assessment("C-9", "2025-12-31", current_assets="1.00"), headers=token("system")
            )
        ).status_code == 409
        assert (
            await client.post(
                "/v1/assessments",
                json=_assessment("C-9", "2026-01-31", current_assets="1.00"),
                headers=token("analyst"),
            )
        ).status_code == 403

        # Still below 1 next period, and revenue down 40%: the open current-ratio alert is not repeated.
        second = await client.post(
            "/v1/assessments",
            json=_assessment("C-9", "2026-03-31", current_assets="450000.00", revenue="600000.00"),
            headers=token("system"),
        )
        assert second.json()["ratios"]["revenue_change"] == "-0.4000"
        assert second.json()["alerts_raised"] == 1  # revenue-down-30 only

        listed = (await client.get("/v1/alerts", params={"status": "open"}, headers=token("analyst"))).json()["items"]
        assert sorted(a["rule_id"] for a in listed) == ["current-ratio-below-1", "revenue-down-30"]
        alert = next(a for a in listed if a["rule_id"] == "current-ratio-below-1")
        assert alert["subject_type"] == "customer" and alert["subject_id"] == "C-9"
        page = await client.get("/v1/alerts", params={"limit": 1}, headers=token("analyst"))
        assert len(page.json()["items"]) == 1 and page.json()["next_cursor"]
        rest = await client.get(
            "/v1/alerts", params={"limit": 1, "cursor": page.json()["next_cursor"]}, headers=token("analyst")
        )
        assert rest.json()["items"][0]["alert_id"] != page.json()["items"][0]["alert_id"]

        alert_id = alert["alert_id"]
        assert (await client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=token("analyst"))).status_code == 403
        acked = await client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=token(sub="officer-1"))
        assert acked.status_code == 200
        assert acked.json()["status"] == "acknowledged"
        assert acked.json()["assignee"] == "officer-1"
        assert (await client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=token())).status_code == 409
        assigned = await client.post(f"/v1/alerts/{alert_id}/assign", json={"assignee": "officer-2"}, headers=token())
        assert assigned.json()["assignee"] == "officer-2"
        resolved = await client.post(f"/v1/alerts/{alert_id}/resolve", json={"note": "refinanced"}, headers=token())
        assert resolved.json()["status"] == "resolved"
        assert [h["action"] for h in resolved.json()["history"]] == ["raise", "acknowledge", "assign", "resolve"]
        assert (await client.post(f"/v1/alerts/{alert_id}/dismiss", headers=token())).status_code == 409
        assert (await client.post("/v1/alerts/nope/resolve", headers=token())).status_code == 404

        # Resolved, but within the rule's de-duplication window: no new alert yet.
        third = await client.post(
            "/v1/assessments",
            json=_assessment("C-9", "2026-06-30", current_assets="300000.00"),
            headers=token("system"),
        )
        assert third.json()["alerts_raised"] == 0

        customer = await client.get("/v1/risk/customers/C-9", headers=token("analyst"))
        assert customer.status_code == 200
        assert customer.json()["current_ratio"] == "0.6000"
        assert (await client.get("/v1/risk/loans/nope", headers=token("analyst"))).status_code == 404


async def test_models_and_performance(ra_api, token) -> None:
    async with ra_api() as (client, _):
        listed = await client.get("/v1/models", headers=token("analyst"))
        assert listed.status_code == 200
        (model,) = listed.json()["items"]
        assert model["version"] == "default-v1" and model["status"] == "champion"
        assert model["auc"] > 0.75
        # Performance reads labelled history: risk officers (and admins) only.
        assert (await client.get("/v1/models/default-v1/performance", headers=token("analyst"))).status_code == 403
        performance = await client.get("/v1/models/default-v1/performance", headers=token("risk_officer"))
        assert performance.status_code == 200, performance.text
        assert performance.json()["training_auc"] == model["auc"]
        assert performance.json()["labelled_rows"] == 0
        assert performance.json()["evaluated_at"] is None
        admin = await client.get("/v1/models/default-v1/performance", headers=token("admin"))
        assert admin.status_code == 200
        assert (await client.get("/v1/models/nope/performance", headers=token("risk_officer"))).status_code == 404


async def test_performance_answers_from_the_stored_evaluation(ra_api, token) -> None:
    from postloan_common.db import create_engine, session_factory
    from postloan_risk_alert.store import model_evaluations

    async with ra_api() as (client, url):
        assert (await client.get("/v1/models", headers=token("analyst"))).status_code == 200  # seeds default-v1
        engine = create_engine(url)
        try:
            async with session_factory(engine).begin() as session:
                observed = {"auc": 0.81, "ks": 0.44, "calibration": [{"grade": 1.0, "pd": 0.01, "observed": 0.02}]}
                await model_evaluations.save(session, version="default-v1", labelled_rows=1234, observed=observed)
        finally:
            await engine.dispose()
        body = (await client.get("/v1/models/default-v1/performance", headers=token("risk_officer"))).json()
        assert (body["auc"], body["ks"], body["labelled_rows"]) == (0.81, 0.44, 1234)
        assert body["calibration"] == observed["calibration"]
        assert body["evaluated_at"] is not None


async def test_rules_with_huge_numbers_or_long_lists_are_422_not_500(ra_api, token) -> None:
    async with ra_api() as (client, _):
        for condition, path in (
            ({"feature": "dpd", "op": ">", "value": 10**400}, "$.condition.value"),
            ({"feature": "dpd", "op": "in", "value": list(range(1000))}, "$.condition.value"),
        ):
            rule = {"rule_id": "too-big", "name": "Too big", "condition": condition, "severity": "high"}
            rejected = await client.post("/v1/rules", json=rule, headers=token("risk_officer"))
            assert rejected.status_code == 422, rejected.text
            assert rejected.headers["content-type"].startswith("application/problem+json")
            assert rejected.json()["errors"][0]["path"] == path
