"""The fund-use trace: totals by kind and category, flags with their flows, alerts, the monitoring list."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from postloan_common.db import create_engine, session_factory
from postloan_risk_alert.service.fund_use import evaluate_untraced

from .test_fund_flows import DISBURSED, flow, register, registered, scalar

pytestmark = pytest.mark.integration


def party(kind: str, name: str = "X", account: str | None = None) -> dict[str, str]:
    return {"name": name, "kind": kind, **({"account": account} if account else {})}


async def test_the_trace_shows_where_the_money_went_and_flags_raise_alerts_once(ra_api, token) -> None:
    async with ra_api() as (client, url):
        await register(url, registered("L-1"), registered("L-2"))
        flows = [
            flow("A-1", amount="200000.00"),  # a supplier: traced, no flag
            flow("A-2", amount="100000.00", counterparty=party("securities_broker"), category=None),
            flow("A-3", amount="60000.00", counterparty=party("borrower_self")),
            *(
                flow(
                    f"S-{i}",
                    amount="49500.00",
                    occurred_on=f"2026-02-0{3 + i}",
                    counterparty=party("company", "Shell", "99"),
                )
                for i in range(3)
            ),
            flow("I-1", direction="in", amount="1000.00", counterparty=party("related_party"), category=None),
        ]
        assert (await client.post("/v1/fund-flows", json=flows, headers=token("system"))).status_code == 201
        trace = await client.get("/v1/risk/loans/L-1/fund-use", headers=token("analyst"))
        assert trace.status_code == 200, trace.text
        body = trace.json()
        assert (body["purpose"], body["disbursed"], body["traced_total"]) == (
            "working_capital",
            "500000.00",
            "508500.00",
        )
        assert body["untraced_remainder"] == "0.00" and body["flows_back"] == "60000.00"
        kinds = {(t["counterparty_kind"], t["category"]): (t["amount"], t["flows"]) for t in body["traced_out"]}
        assert kinds[("company", "5051")] == ("148500.00", 3)
        assert kinds[("securities_broker", None)] == ("100000.00", 1)
        assert body["inflows"] == [
            {"counterparty_kind": "related_party", "category": None, "amount": "1000.00", "flows": 1}
        ]
        flags = {f["rule"]: f for f in body["flags"]}
        assert set(flags) == {"fund_forbidden_use", "fund_flow_back", "fund_splitting"}
        assert flags["fund_forbidden_use"]["flow_ids"] == ["A-2"]
        assert flags["fund_flow_back"]["flow_ids"] == ["A-3"] and "12.0%" in flags["fund_flow_back"]["reason"]
        assert flags["fund_splitting"]["flow_ids"] == ["S-0", "S-1", "S-2"]
        assert all(f["status"] == "open" and f["alert_id"] for f in flags.values())

        # Another forbidden flow updates the flag; the open alert is not raised twice.
        more = flow("A-4", amount="1.00", counterparty=party("lender"), category=None)
        assert (await client.post("/v1/fund-flows", json=more, headers=token("system"))).status_code == 201
        again = {
            f["rule"]: f for f in (await client.get("/v1/risk/loans/L-1/fund-use", headers=token())).json()["flags"]
        }
        assert again["fund_forbidden_use"]["flow_ids"] == ["A-2", "A-4"]
        assert again["fund_forbidden_use"]["alert_id"] == flags["fund_forbidden_use"]["alert_id"]
        assert await scalar(url, "SELECT count(*) FROM alerts WHERE rule_id LIKE 'fund_%'") == 3
        assert await scalar(url, "SELECT count(*) FROM outbox WHERE event_type = 'risk-alert-raised'") == 3
        listed = await client.get("/v1/alerts?rule_id=fund_flow_back", headers=token())
        assert listed.status_code == 200

        # The monitoring list: filters and a cursor.
        page = await client.get("/v1/fund-use/flags?limit=2", headers=token())
        assert page.status_code == 200, page.text
        first = page.json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        rest = (await client.get(f"/v1/fund-use/flags?limit=2&cursor={first['next_cursor']}", headers=token())).json()
        assert len(rest["items"]) == 1 and rest["next_cursor"] is None
        assert {i["rule"] for i in first["items"] + rest["items"]} == set(flags)
        assert all(i["product"] == "sme-working-capital" and i["branch"] == "SH01" for i in first["items"])
        none = (await client.get("/v1/fund-use/flags?branch=BJ01", headers=token())).json()
        assert none["items"] == []
        assert (await client.get("/v1/fund-use/flags?status=resolved", headers=token())).json()["items"] == []
        assert (await client.get("/v1/fund-use/flags?cursor=nonsense", headers=token())).status_code == 400
        assert (await client.get("/v1/risk/loans/L-404/fund-use", headers=token())).status_code == 404

        # Untraced is found at the close of the day after the window: L-2 had no flows at all.
        engine = create_engine(url)
        try:
            async with session_factory(engine).begin() as session:
                early = await evaluate_untraced(
                    session, business_date=DISBURSED + timedelta(days=30), correlation_id=None
                )
                raised = await evaluate_untraced(
                    session, business_date=DISBURSED + timedelta(days=31), correlation_id=None
                )
        finally:
            await engine.dispose()
        assert (early, raised) == (0, 1)
        untraced = (await client.get("/v1/risk/loans/L-2/fund-use", headers=token())).json()
        assert [(f["rule"], f["amount"]) for f in untraced["flags"]] == [("fund_untraced", "500000.00")]
        assert untraced["untraced_remainder"] == "500000.00"
        assert Decimal(untraced["traced_total"]) == 0
        assert await scalar(url, "SELECT count(*) FROM alerts WHERE rule_id = 'fund_untraced'") == 1
