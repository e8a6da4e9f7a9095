"""deploy/grafana: the dashboards are well-formed and cover what the issue asks for."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest

BOARDS = {
    "postloan-platform.json": [
        "http_requests_total", "http_request_duration_seconds_bucket", "consumer_lag",
        "outbox_oldest_pending_age_seconds", 'outcome="dead_lettered"', "repayment_close_of_day_seconds",
    ],
    "postloan-business.json": [
        "reporting_overdue_rate", "reporting_par30", "reporting_npl_ratio", "repayment_balance",
        "reporting_balance", "reporting_open_alerts", "reporting_reminders_sent", 'outcome="kept"',
    ],
}  # fmt: skip


def load(deploy: ModuleType, name: str) -> dict[str, Any]:
    board: dict[str, Any] = json.loads((deploy.DEPLOY / "grafana" / "dashboards" / name).read_text())
    return board


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_dashboard_is_well_formed(deploy: ModuleType, name: str) -> None:
    board = load(deploy, name)
    assert board["uid"] == name.removesuffix(".json")
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"] == panel["datasource"]


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_dashboard_covers_the_issue(deploy: ModuleType, name: str) -> None:
    queries = " ".join(expr for board, _, expr in deploy.dashboard_queries() if board == name)
    for wanted in BOARDS[name]:
        assert wanted in queries, f"{name} has no panel on {wanted}"


def test_dashboard_uids_are_unique(deploy: ModuleType) -> None:
    uids = [load(deploy, name)["uid"] for name in BOARDS]
    assert len(set(uids)) == len(uids)
    assert sorted(p.name for p in (deploy.DEPLOY / "grafana" / "dashboards").glob("*.json")) == sorted(BOARDS)


def test_metric_name_extraction(deploy: ModuleType) -> None:
    expr = (
        'sum by (service, route) (rate(http_requests_total{service=~"$service", status="5xx"}[$__rate_interval]))'
        ' / ignoring (status) group_left max(outbox_pending offset 5m) and on () up{job="x"} > bool 0.5'
    )
    assert deploy.promql_metric_names(expr) == {"http_requests_total", "outbox_pending", "up"}
    assert deploy.promql_metric_names("label_values(http_requests_total, service)") == {"http_requests_total"}
