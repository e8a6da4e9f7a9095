"""PDF and XLSX rendering run on a worker thread, not on the event loop (issue 13 item 9)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from postloan_reporting.api import routes

from .test_scenario import february, feed

pytestmark = pytest.mark.integration


def _spy(render: Callable[..., bytes], calls: list[tuple[int, bool]]) -> Callable[..., bytes]:
    """`render`, noting the thread it ran on and whether an event loop was running there."""

    def spied(*args: Any) -> bytes:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        calls.append((threading.get_ident(), on_loop))
        return render(*args)

    return spied


async def test_pdf_and_xlsx_render_off_the_event_loop(
    migrated_database, reporting_api, token, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await migrated_database("postloan_reporting")
    await feed(url, february())
    calls: list[tuple[int, bool]] = []
    for format in ("pdf", "xlsx"):  # the renderers the route (and the scheduled reports) look up by format
        monkeypatch.setitem(routes.RENDERERS, format, _spy(routes.RENDERERS[format], calls))
    loop_thread = threading.get_ident()  # ASGITransport runs the app on this test's loop
    async with reporting_api(url) as client:
        for format in ("pdf", "xlsx"):
            response = await client.get(f"/v1/reports/management?format={format}&lang=en", headers=token("analyst"))
            assert response.status_code == 200, response.text
    assert len(calls) == 2
    assert all(thread != loop_thread and not on_loop for thread, on_loop in calls), calls
