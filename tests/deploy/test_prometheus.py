"""deploy/prometheus: promtool checks the configs and rules and runs the rules' unit tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import yaml


def test_compose_config_is_valid(deploy: ModuleType, tool: Callable[[str], str]) -> None:
    deploy.run([tool("promtool"), "check", "config", str(deploy.DEPLOY / "prometheus" / "prometheus.yml")])


def test_kubernetes_config_is_valid(deploy: ModuleType, tool: Callable[[str], str], tmp_path: Path) -> None:
    # Debian's promtool is built without Kubernetes discovery: check everything else (relabelling,
    # rule files) with the discovery swapped for a static target.
    source = deploy.DEPLOY / "prometheus" / "prometheus-kubernetes.yml"
    config = yaml.safe_load(source.read_text())
    (job,) = config["scrape_configs"]
    assert job.pop("kubernetes_sd_configs") == [{"role": "pod"}]
    job["static_configs"] = [{"targets": ["placeholder:8001"]}]
    config["rule_files"] = [str(source.parent / pattern) for pattern in config["rule_files"]]
    checked = tmp_path / "prometheus-kubernetes.yml"
    checked.write_text(yaml.safe_dump(config))
    deploy.run([tool("promtool"), "check", "config", str(checked)])


def test_rules_are_valid(deploy: ModuleType, tool: Callable[[str], str]) -> None:
    rules = sorted((deploy.DEPLOY / "prometheus" / "rules").glob("*.yml"))
    assert rules
    deploy.run([tool("promtool"), "check", "rules", *map(str, rules)])


def test_rules_unit_tests_pass(deploy: ModuleType, tool: Callable[[str], str]) -> None:
    tests = sorted((deploy.DEPLOY / "prometheus" / "tests").glob("*.yml"))
    assert tests
    result = deploy.run([tool("promtool"), "test", "rules", *map(str, tests)])
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test(deploy: ModuleType) -> None:
    alerts = {rule["alert"] for rule in deploy.alert_rules() if "alert" in rule}
    assert {
        "PostloanConsumerLagGrowing",
        "PostloanOutboxStale",
        "PostloanDeadLetter",
        "PostloanCloseOfDayMissed",
        "PostloanHigh5xxRate",
    } <= alerts
    tested = set()
    for path in (deploy.DEPLOY / "prometheus" / "tests").glob("*.yml"):
        for case in yaml.safe_load(path.read_text())["tests"]:
            tested |= {t["alertname"] for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
    assert alerts == tested, f"alerts never seen firing in a test: {sorted(alerts - tested)}"


def test_dashboard_queries_are_valid_promql(deploy: ModuleType, tool: Callable[[str], str], tmp_path: Path) -> None:
    # promtool parses the expressions of a rules file, so every dashboard query becomes a rule.
    rules = [
        {"record": f"dashboard:query:{index}", "expr": deploy.grafana_to_promql(expr)}
        for index, (_, _, expr) in enumerate(deploy.dashboard_queries())
        if not expr.startswith("label_values(")
    ]
    assert len(rules) > 20
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    deploy.run([tool("promtool"), "check", "rules", str(path)])
