"""The reporting REST API (`/v1/reports/...`): JSON by default, `?format=csv` on tabular reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from postloan_common.web import DbSession, ProblemError, require_roles
from postloan_reporting.api.formats import csv_response, jsonable
from postloan_reporting.domain.kpis import Portfolio
from postloan_reporting.render.html import render_html
from postloan_reporting.render.i18n import LANGUAGES
from postloan_reporting.render.pdf import render_pdf
from postloan_reporting.render.xlsx import render_xlsx
from postloan_reporting.service import reports, tables
from postloan_reporting.service.management import management_report
from postloan_reporting.service.reports import Filters

READERS = ("analyst", "supervisor", "risk_officer", "admin")

router = APIRouter(prefix="/v1/reports", tags=["reports"], dependencies=[Depends(require_roles(*READERS))])

AsOf = Annotated[date | None, Query(description="business date (default: the latest closed one)")]
Product = Annotated[str | None, Query(max_length=64)]
Branch = Annotated[str | None, Query(max_length=64)]
TableFormat = Annotated[Literal["json", "csv"], Query()]


async def _as_of(session: DbSession, as_of: date | None) -> date:
    try:
        return await reports.resolve_as_of(session, as_of=as_of)
    except reports.NoClosedDay as exc:
        raise ProblemError(404, "No closed business day", str(exc)) from exc
    except reports.NotClosedYet as exc:
        raise ProblemError(422, "Business day not closed", str(exc)) from exc


def _meta(as_of: date, product: str | None, branch: str | None, **extra: Any) -> dict[str, Any]:
    return {"as_of": as_of.isoformat(), "filters": {"product": product, "branch": branch}, **jsonable(extra)}


async def _portfolio(session: DbSession, as_of: date | None, product: str | None, branch: str | None):
    day = await _as_of(session, as_of)
    return day, await reports.portfolio_report(session, as_of=day, filters=Filters(product, branch))


@router.get("/portfolio")
async def portfolio(
    session: DbSession, as_of: AsOf = None, product: Product = None, branch: Branch = None, format: TableFormat = "json"
) -> Any:
    """Outstanding, overdue balance and rate, PAR30, NPL ratio; by product and branch."""
    day, report = await _portfolio(session, as_of, product, branch)
    if format == "csv":
        return csv_response(tables.portfolio_rows(report), filename=f"portfolio-{day}.csv")
    return _meta(day, product, branch, kpis=report.kpis, by_product=report.by_product, by_branch=report.by_branch)


@router.get("/aging")
async def aging(
    session: DbSession, as_of: AsOf = None, product: Product = None, branch: Branch = None, format: TableFormat = "json"
) -> Any:
    """Loans and balances by delinquency bucket."""
    day, report = await _portfolio(session, as_of, product, branch)
    if format == "csv":
        return csv_response(tables.slice_rows("bucket", report.by_bucket), filename=f"aging-{day}.csv")
    return _meta(day, product, branch, buckets=report.by_bucket, kpis=_headline(report))


@router.get("/classification")
async def classification(
    session: DbSession, as_of: AsOf = None, product: Product = None, branch: Branch = None, format: TableFormat = "json"
) -> Any:
    """Five-category classification (DPD floor applied) and the NPL ratio."""
    day, report = await _portfolio(session, as_of, product, branch)
    if format == "csv":
        return csv_response(
            tables.slice_rows("classification", report.by_classification), filename=f"classification-{day}.csv"
        )
    return _meta(
        day,
        product,
        branch,
        classes=report.by_classification,
        npl_balance=report.kpis.npl_balance,
        npl_ratio=report.kpis.npl_ratio,
    )


def _headline(report: Portfolio) -> dict[str, Any]:
    k = report.kpis
    return {"loans": k.loans, "outstanding": k.outstanding, "overdue_rate": k.overdue_rate, "par30": k.par30}


@router.get("/roll-rates")
async def roll_rates(
    session: DbSession,
    from_: Annotated[date, Query(alias="from")],
    to: Annotated[date, Query()],
    product: Product = None,
    branch: Branch = None,
    format: TableFormat = "json",
) -> Any:
    """The full migration matrix from the end of `from` to the end of `to`, cures and closures included."""
    if from_ >= to:
        raise ProblemError(422, "Invalid period", "`from` must be before `to`")
    await _as_of(session, to)
    matrix = await reports.roll_rates(session, start=from_, end=to, filters=Filters(product, branch))
    if format == "csv":
        return csv_response(tables.roll_rate_rows(matrix), filename=f"roll-rates-{from_}-{to}.csv")
    return {
        "from": from_.isoformat(),
        "to": to.isoformat(),
        "filters": {"product": product, "branch": branch},
        "basis": "balance on `from`",
        "matrix": jsonable(matrix),
    }


@router.get("/vintage")
async def vintage(
    session: DbSession, as_of: AsOf = None, product: Product = None, branch: Branch = None, format: TableFormat = "json"
) -> Any:
    """30+ and 90+ shares of the disbursed amount per cohort and month on book."""
    day = await _as_of(session, as_of)
    curves = await reports.vintage_report(session, as_of=day, filters=Filters(product, branch))
    if format == "csv":
        return csv_response(tables.vintage_rows(curves), filename=f"vintage-{day}.csv")
    return _meta(day, product, branch, curves=curves)


@router.get("/collections")
async def collections(
    session: DbSession,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
    product: Product = None,
    branch: Branch = None,
    format: TableFormat = "json",
) -> Any:
    """Contact, RPC, PTP and kept rates, cure rate, collected per case, CEI, reminder effectiveness."""
    end = await _as_of(session, to)
    start = from_ or reports.month_to_date(end)[0]
    if start > end:
        raise ProblemError(422, "Invalid period", "`from` must not be after `to`")
    closed_through = await _as_of(session, None)
    report = await reports.collections_report(
        session, start=start, end=end, filters=Filters(product, branch), closed_through=closed_through
    )
    if format == "csv":
        return csv_response(tables.collections_rows(report), filename=f"collections-{start}-{end}.csv")
    return jsonable(report) | {"filters": {"product": product, "branch": branch}}


@router.get("/risk")
async def risk(
    session: DbSession, as_of: AsOf = None, product: Product = None, branch: Branch = None, format: TableFormat = "json"
) -> Any:
    """Latest score distribution and alerts open at the end of `as_of` by rule and severity."""
    day = await _as_of(session, as_of)
    report = await reports.risk_report(session, as_of=day, filters=Filters(product, branch))
    if format == "csv":
        return csv_response(tables.risk_rows(report), filename=f"risk-{day}.csv")
    return _meta(
        day,
        product,
        branch,
        score_bands=[{"band": b, "loans": n, "mean_pd": pd} for b, n, pd in report.score_bands],
        grades=[{"grade": g, "loans": n} for g, n in report.grades],
        open_alerts=[{"rule_id": r, "severity": s, "open": n} for r, s, n in report.open_alerts],
        raised_last_30_days=report.raised_last_30_days,
        note="scores are each loan's latest; alerts are as of `as_of`",
    )


MEDIA = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/management")
async def management(
    session: DbSession,
    as_of: AsOf = None,
    product: Product = None,
    branch: Branch = None,
    format: Annotated[Literal["html", "pdf", "xlsx"], Query()] = "html",
    lang: Annotated[str, Query()] = "zh-CN",
) -> Response:
    """The management report: headline KPIs vs the previous month end, charts and their tables."""
    if lang not in LANGUAGES:
        raise ProblemError(422, "Unsupported language", f"lang must be one of {', '.join(LANGUAGES)}")
    day = await _as_of(session, as_of)
    report = await management_report(session, as_of=day, filters=Filters(product, branch))
    if format == "html":
        return Response(render_html(report, lang), media_type=MEDIA["html"])
    # A thread of the pool: a PDF takes a CPU-bound second or more, and on the loop it would stall
    # every other request of the process meanwhile.
    body = await run_in_threadpool(render_pdf if format == "pdf" else render_xlsx, report, lang)
    return Response(
        body,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="management-{day}-{lang}.{format}"'},
    )
