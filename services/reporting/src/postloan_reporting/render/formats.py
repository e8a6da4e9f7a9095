"""The management report's formats: renderer and media type of each (the API and the schedules use them)."""

from __future__ import annotations

from collections.abc import Callable

from postloan_reporting.render.html import render_html
from postloan_reporting.render.pdf import render_pdf
from postloan_reporting.render.xlsx import render_xlsx
from postloan_reporting.service.management import Management

MEDIA = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def html_bytes(report: Management, lang: str) -> bytes:
    """The HTML page as UTF-8."""
    return render_html(report, lang).encode()


RENDERERS: dict[str, Callable[[Management, str], bytes]] = {"html": html_bytes, "pdf": render_pdf, "xlsx": render_xlsx}


def filename(report: Management, lang: str, format: str) -> str:
    """The file a rendered report is saved as."""
    return f"management-{report.as_of}-{lang}.{format}"
