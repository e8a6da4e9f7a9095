"""The reference console (web/) in headless Chromium against the running platform (issue 17 item 3).

The e2e platform's crm, risk-alert and reporting apps are served over real HTTP (uvicorn on the
test's loop); reporting serves the built console at /console with a config.json pointing at them.
Log in with a pasted token, open the worklist and a case, record a call outcome, open the dashboard
and check its charts drew data. Skipped when Chromium, node or the Python playwright package is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from postloan_common.web import mint_token
from postloan_dev.testing import TEST_JWT_SECRET

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(180)]

CHROMIUM = Path("/usr/bin/chromium")
WEB = Path(__file__).resolve().parents[2] / "web"
SERVED = ("crm", "risk-alert", "reporting")
LOAN, CUSTOMER, AGENT = "L-1", "C-1", "agent-1"
AS_OF = date(2026, 2, 7)
CLOSED = date(2026, 2, 6)  # the latest closed business day on AS_OF: what reports show

async_playwright: Any
try:
    from playwright.async_api import async_playwright
except ImportError:  # pragma: no cover - the dev group installs it
    async_playwright = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def console_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """web/ built once per session: types generated from the services' OpenAPI, then `vite build`."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    if async_playwright is None:
        pytest.skip("the playwright Python package is not installed (uv sync)")
    if shutil.which("npm") is None:
        pytest.skip("node/npm is missing: the console cannot be built")
    specs = tmp_path_factory.mktemp("openapi")
    subprocess.run([sys.executable, "-m", "postloan_dev.openapi_dump", str(specs)], check=True, capture_output=True)
    for command in (
        ["npm", "ci", "--no-audit", "--no-fund"],
        ["node", "gen-types.mjs", str(specs)],
        ["npm", "run", "build"],
    ):
        subprocess.run(command, cwd=WEB, check=True, capture_output=True)
    return WEB / "dist"


@pytest.fixture
def ports(console_dist: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Ports for the served apps; the console's copy with its config.json; CORS for its origin."""
    ports = {name: free_port() for name in SERVED}
    served = tmp_path / "console"
    shutil.copytree(console_dist, served)
    urls = {"crm": "crm", "riskAlert": "risk-alert", "reporting": "reporting"}
    config = {key: f"http://127.0.0.1:{ports[name]}" for key, name in urls.items()}
    (served / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("POSTLOAN_CORS_ORIGINS", json.dumps([f"http://127.0.0.1:{ports['reporting']}"]))
    monkeypatch.setenv("REPORTING_CONSOLE_DIR", str(served))
    yield ports


@contextlib.asynccontextmanager
async def serving(platform: Any, ports: dict[str, int]) -> AsyncIterator[None]:
    """The platform's apps over HTTP on the test's loop (their lifespans already run)."""
    servers = [
        uvicorn.Server(uvicorn.Config(platform.services[name].app, port=port, lifespan="off", log_level="warning"))
        for name, port in ports.items()
    ]
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    while not all(server.started for server in servers):  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks)


async def seeded_case(platform: Any) -> str:
    """One loan a day past due on AS_OF: its collection case, assigned to AGENT."""
    await platform.upsert_customer(CUSTOMER)
    await platform.book_loan(LOAN, CUSTOMER)
    await platform.settle()
    await platform.advance(AS_OF)
    body = await platform.get("crm", "/v1/cases", customer_id=CUSTOMER)
    case_id, queue = str(body["items"][0]["case_id"]), str(body["items"][0]["queue"])
    agent = {"name": "Console Tester", "queues": [queue], "capacity": 10, "active": True}
    response = await platform.client("crm").put(f"/v1/agents/{AGENT}", json=agent)
    assert response.status_code == 200, response.text
    await platform.post("crm", f"/v1/cases/{case_id}/assign", {"agent_id": AGENT})
    return case_id


async def test_console_login_worklist_outcome_and_dashboard(ports: dict[str, int], platform: Any) -> None:
    # `ports` before `platform`: the apps are built with the console's CORS origin and directory.
    case_id = await seeded_case(platform)
    token = mint_token(secret=TEST_JWT_SECRET, sub=AGENT, roles=["admin"])
    async with serving(platform, ports), async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = await browser.new_page()
        await page.goto(f"http://127.0.0.1:{ports['reporting']}/console/")
        await page.fill("textarea[name=token]", token)
        await page.click("text=Log in")
        await page.click(f"a:has-text('{case_id}')")
        await page.wait_for_selector("#outcome")
        await page.select_option("select[name=outcome]", "promise_to_pay")
        await page.select_option("select[name=direction]", "inbound")  # outbound calls obey quiet hours
        await page.fill("input[name=note]", "pays on Friday")
        await page.click("text=Record outcome")
        await page.wait_for_selector("#timeline td:has-text('pays on Friday'), #status:not(:empty), .error")
        assert await page.locator("#status:not(:empty), .error").count() == 0, await page.inner_text("#status")
        interactions = await platform.get("crm", f"/v1/cases/{case_id}/interactions")
        assert [i["outcome"] for i in interactions["items"]] == ["promise_to_pay"]

        await page.goto(f"http://127.0.0.1:{ports['reporting']}/console/#/dashboard/{CLOSED.isoformat()}")
        await page.wait_for_selector("#roll-chart, .error")
        assert await page.locator(".error").count() == 0, await page.inner_text("main")
        for chart in ("aging-chart", "trend-chart", "roll-chart"):
            drawn = await page.evaluate(
                "(id) => { const c = document.getElementById(id); return [c.width, c.height, Number(c.dataset.points)]; }",
                chart,
            )
            assert all(value > 0 for value in drawn), (chart, drawn)
        await page.click("text=Alerts")
        await page.wait_for_selector("h1:has-text('Alert queue')")
        await browser.close()
