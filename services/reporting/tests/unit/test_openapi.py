"""Reporting's OpenAPI document serves client generators (issue 17 item 1)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from postloan_dev.testing import TEST_JWT_SECRET

PROBLEM_JSON = "application/problem+json"
OPERATIONS = {
    "/v1/reports/portfolio": "getPortfolioReport",
    "/v1/reports/aging": "getAgingReport",
    "/v1/reports/classification": "getClassificationReport",
    "/v1/reports/roll-rates": "getRollRateReport",
    "/v1/reports/vintage": "getVintageReport",
    "/v1/reports/collections": "getCollectionsReport",
    "/v1/reports/risk": "getRiskReport",
    "/v1/reports/management": "getManagementReport",
    "/v1/reports/recoveries": "getRecoveriesReport",
    "/v1/reports/fund-use": "getFundUseReport",
    "/v1/reports/effectiveness": "getEffectivenessReport",
}


@pytest.fixture
def spec(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("REPORTING_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/unused")
    monkeypatch.setenv("POSTLOAN_JWT_SECRET", TEST_JWT_SECRET)
    monkeypatch.setenv("POSTLOAN_ENV", "test")
    from postloan_reporting.main import create_app

    return create_app().openapi()


def _schema(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _typed(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """False when a generated client would get `unknown` or `{}` somewhere in `schema`."""
    schema = _schema(spec, schema)
    if "anyOf" in schema:
        return all(_typed(spec, s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return _typed(spec, schema.get("items", {}))
    if schema.get("type") == "object":
        props = schema.get("properties")
        return bool(props) and all(_typed(spec, p) for p in props.values())
    return schema.get("type") in ("string", "integer", "number", "boolean", "null")


def test_every_operation_has_its_id_tag_typed_body_and_problem_errors(spec: dict[str, Any]) -> None:
    reports = {
        path: ops["get"]
        for path, ops in spec["paths"].items()
        if path.startswith("/v1/reports") and "/schedules" not in path
    }
    assert {path: op["operationId"] for path, op in reports.items()} == OPERATIONS
    assert len({op["tags"][0] for op in reports.values()}) == len(reports)  # a tag per resource
    for path, op in reports.items():
        ok = op["responses"]["200"]["content"]
        if path.endswith("/management"):
            assert {"text/html; charset=utf-8", "application/pdf"} <= ok.keys()
        else:
            assert _typed(spec, ok["application/json"]["schema"]), path
            assert "text/csv" in ok
        for status in ("401", "403", "404", "422", "503"):
            content = op["responses"][status]["content"]
            assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/ProblemDetails"}, (path, status)
    assert "ProblemDetails" in spec["components"]["schemas"]


def test_money_is_a_decimal_string_dates_are_dates_and_aging_rows_say_bucket(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    balance = schemas["KpisOut"]["properties"]["outstanding"]
    assert balance["type"] == "string" and re.fullmatch(balance["pattern"], "-1250.50")
    assert not re.fullmatch(balance["pattern"], "1e5")
    assert schemas["PortfolioOut"]["properties"]["as_of"]["format"] == "date"
    assert schemas["RollRatesOut"]["properties"]["from"]["format"] == "date"
    row = schemas["AgingRowOut"]["properties"]
    assert row["bucket"]["type"] == "string" and row["key"]["deprecated"] is True


def test_the_schedule_operations_are_typed_with_an_example_and_their_errors(spec: dict[str, Any]) -> None:
    create = spec["paths"]["/v1/reports/management/schedules"]["post"]
    listed = spec["paths"]["/v1/reports/management/schedules"]["get"]
    read = spec["paths"]["/v1/reports/management/schedules/{schedule_id}"]["get"]
    delete = spec["paths"]["/v1/reports/management/schedules/{schedule_id}"]["delete"]
    assert (listed["operationId"], delete["operationId"]) == (
        "listManagementReportSchedules",
        "deleteManagementReportSchedule",
    )
    assert listed["tags"] == delete["tags"] == ["management-schedules"]
    assert _typed(spec, listed["responses"]["200"]["content"]["application/json"]["schema"])
    assert "204" in delete["responses"] and PROBLEM_JSON in delete["responses"]["404"]["content"]
    assert (create["operationId"], read["operationId"]) == (
        "createManagementReportSchedule",
        "getManagementReportSchedule",
    )
    assert create["tags"] == read["tags"] == ["management-schedules"]
    for op, ok, errors in ((create, "201", ("401", "403", "409", "422")), (read, "200", ("401", "403", "404"))):
        assert _typed(spec, op["responses"][ok]["content"]["application/json"]["schema"])
        for status in errors:
            assert PROBLEM_JSON in op["responses"][status]["content"], status
    body = _schema(spec, create["requestBody"]["content"]["application/json"]["schema"])
    assert body["examples"][0]["recipients"] == ["risk-committee@bank.example"]
