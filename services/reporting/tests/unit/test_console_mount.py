"""The built reference console is served at /console when its directory exists, outside OpenAPI."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from postloan_reporting.main import create_app


def test_console_is_served_from_the_configured_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "index.html").write_text("<title>postloan console</title>")
    monkeypatch.setenv("REPORTING_CONSOLE_DIR", str(tmp_path))
    client = TestClient(create_app())
    assert "postloan console" in client.get("/console/").text
    assert not any(path.startswith("/console") for path in client.get("/openapi.json").json()["paths"])


def test_no_console_route_without_the_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTING_CONSOLE_DIR", str(tmp_path / "missing"))
    assert TestClient(create_app()).get("/console/").status_code == 404
