"""A book whose product, branch and agent names are formulas: the CSV and XLSX exports carry them as text."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from postloan_common.contracts import crm

from .test_scenario import day_closed, ev, feed, registered

pytestmark = pytest.mark.integration

PRODUCT, BRANCH, AGENT = "=1+2", "@SUM(A1)", '=HYPERLINK("http://evil","x")'


def book() -> list:
    contact = crm.ContactAttemptedV1(
        interaction_id="I1",
        customer_id="C-X1",
        loan_id="X1",
        channel="phone",
        connected=True,
        outcome="promise_to_pay",
        agent_id=AGENT,
    )
    return [
        registered("X1", PRODUCT, BRANCH, "1000.00"),
        registered("X2", "+CMD", "-2+3", "500.00"),
        ev(contact, "2026-01-20", "crm"),
        day_closed("2026-01-31", 0),
        day_closed("2026-01-31", 1),
    ]


async def test_exports_write_formula_like_names_as_text(migrated_database, reporting_api, token) -> None:
    url = await migrated_database("postloan_reporting")
    await feed(url, book())
    async with reporting_api(url) as client:
        headers = token("analyst")
        portfolio = await client.get("/v1/reports/portfolio?as_of=2026-01-31&format=csv", headers=headers)
        assert portfolio.status_code == 200, portfolio.text
        keys = {(r["dimension"], r["key"]) for r in csv.DictReader(io.StringIO(portfolio.text))}
        assert {("product", "'=1+2"), ("product", "'+CMD"), ("branch", "'@SUM(A1)"), ("branch", "'-2+3")} <= keys
        collections = await client.get(
            "/v1/reports/collections?from=2026-01-01&to=2026-01-31&format=csv", headers=headers
        )
        agents = [r["key"] for r in csv.DictReader(io.StringIO(collections.text)) if r["group"] == "agent"]
        assert agents == ["'" + AGENT]

        xlsx = await client.get("/v1/reports/management?as_of=2026-01-31&format=xlsx&lang=en", headers=headers)
        assert xlsx.status_code == 200
        workbook = load_workbook(io.BytesIO(xlsx.content))
        [cell] = [c for row in workbook["Collections"].iter_rows() for c in row if c.value == AGENT]
        assert cell.data_type == "s" and cell.quotePrefix  # text, not a formula Excel would run
        assert not [c.coordinate for s in workbook for r in s.iter_rows() for c in r if c.data_type == "f"]
