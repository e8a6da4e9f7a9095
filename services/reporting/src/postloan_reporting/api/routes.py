"""The reporting REST API (`/v1/reports/...`): JSON by default, `?format=csv` on tabular reports."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from postloan_common.web import AppSettings, DbSession, ProblemError, require_roles
from postloan_common.web.openapi import problems
from postloan_reporting.api.formats import csv_response
from postloan_reporting.api.responses import (
    AgingOut,
    AgingRowOut,
    ClassificationOut,
    CollectionsOut,
    HeadlineOut,
    PortfolioOut,
    RiskOut,
    RollRatesOut,
    VintageOut,
    filters_out,
)
from postloan_reporting.domain.kpis import Portfolio
from postloan_reporting.render.formats import MEDIA, RENDERERS, filename
from postloan_reporting.render.html import render_html
from postloan_reporting.render.i18n import LANGUAGES
from postloan_reporting.service import reports, tables
from postloan_reporting.service.effectiveness import costs_from
from postloan_reporting.service.management import management_report
from postloan_reporting.service.reports import Filters
from postloan_reporting.settings import Settings

READERS = ("analyst", "supervisor", "risk_officer", "admin")

router = APIRouter(prefix="/v1/reports", dependencies=[Depends(require_roles(*READERS))])

# What a report answers besides its body: no token, no reader role, no closed day yet (404), a bad
# or not yet closed date (422), the database unavailable (503).
ERRORS = problems(401, 403, 404, 422, 503)
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "The report (CSV with ?format=csv)"}
}

AsOf = Annotated[date | None, Query(description="business date (default: the latest closed one)")]
Product = Annotated[str | None, Query(max_length=64)]
Branch = Annotated[str | None, Query(max_length=64)]
TableFormat = Annotated[Literal["json", "csv"], Query()]


async def resolve_day(session: DbSession, as_of: date | None) -> date:
    """The requested or latest closed business day, or the problem (404 none closed, 422 not closed yet)."""
    try:
        return await reports.resolve_as_of(session, as_of=as_of)
    except reports.NoClosedDay as exc:
        raise ProblemError(404, "No closed business day", str(exc)) from exc
    except reports.NotClosedYet as exc:
        raise ProblemError(422, "Business day not closed", str(exc)) from exc


def _meta(as_of: date, product: str | None, branch: str | None) -> dict[str, Any]:
    return {"as_of": as_of, "filters": filters_out(product, branch)}


async def _portfolio(
    session: DbSession, as_of: date | None, product: str | None, branch: str | None
) -> tuple[date, Portfolio]:
    day = await resolve_day(session, as_of)
    return day, await reports.portfolio_report(session, as_of=day, filters=Filters(product, branch))


@router.get(
    "/portfolio",
    operation_id="getPortfolioReport",
    tags=["portfolio"],
    response_model=PortfolioOut,
    responses={**CSV, **ERRORS},
)
async def portfolio(
    session: DbSession, as_of: AsOf = None, product: Product = None, branch: Branch = None, format: TableFormat = "json"
) -> PortfolioOut | Response:
    """Outstanding, overdue balance and rate, PAR30, NPL ratio; by product and branch."""
    day, report = await _portfolio(session, as_of, product, branch)
    if format == "csv":
        return csv_response(tables.portfolio_rows(report), filename=f"portfolio-{day}.csv")
    return PortfolioOut.model_validate(
        {
            **_meta(day, product, branch),
            "kpis": report.kpis,
            "by_product": report.by_product,
            "by_branch": report.by_branch,
        }
    )


@router.get(
    "/aging",
    operation_id="getAgingReport",
    tags=["aging"],
    response_model=AgingOut,
    responses={**CSV, **ERRORS},
)
async def aging(
    session: DbSession, as_of: AsOf = None, product: Product = None, branch: Branch = None, format: TableFormat = "json"
) -> AgingOut | Response:
    """Loans and balances by delinquency bucket."""
    day, report = await _portfolio(session, as_of, product, branch)
    if format == "csv":
        return csv_response(tables.slice_rows("bucket", report.by_bucket), filename=f"aging-{day}.csv")
    buckets = [AgingRowOut.model_validate(vars_of(s) | {"bucket": s.key}) for s in report.by_bucket]
    return AgingOut.model_validate({**_meta(day, product, branch), "buckets": buckets, "kpis": _headline(report)})


@router.get(
    "/classification",
    operation_id="getClassificationReport",
    tags=["classification"],
    response_model=ClassificationOut,
    responses={**CSV, **ERRORS},
)
async def classification(
    session: DbSession, as_of: AsOf = None, product: Product = None, branch: Branch = None, format: TableFormat = "json"
) -> ClassificationOut | Response:
    """Five-category classification (DPD floor applied) and the NPL ratio."""
    day, report = await _portfolio(session, as_of, product, branch)
    if format == "csv":
        return csv_response(
            tables.slice_rows("classification", report.by_classification), filename=f"classification-{day}.csv"
        )
    return ClassificationOut.model_validate(
        {
            **_meta(day, product, branch),
            "classes": report.by_classification,
            "npl_balance": report.kpis.npl_balance,
            "npl_ratio": report.kpis.npl_ratio,
        }
    )


def _headline(report: Portfolio) -> HeadlineOut:
    return HeadlineOut.model_validate(report.kpis)


def vars_of(value: Any) -> dict[str, Any]:
    """A dataclass's fields by name (slots dataclasses have no `__dict__`)."""
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


@router.get(
    "/roll-rates",
    operation_id="getRollRateReport",
    tags=["roll-rates"],
    response_model=RollRatesOut,
    responses={**CSV, **ERRORS},
)
async def roll_rates(
    session: DbSession,
    from_: Annotated[date, Query(alias="from")],
    to: Annotated[date, Query()],
    product: Product = None,
    branch: Branch = None,
    format: TableFormat = "json",
) -> RollRatesOut | Response:
    """The full migration matrix from the end of `from` to the end of `to`, cures and closures included."""
    if from_ >= to:
        raise ProblemError(422, "Invalid period", "`from` must be before `to`")
    await resolve_day(session, to)
    matrix = await reports.roll_rates(session, start=from_, end=to, filters=Filters(product, branch))
    if format == "csv":
        return csv_response(tables.roll_rate_rows(matrix), filename=f"roll-rates-{from_}-{to}.csv")
    return RollRatesOut.model_validate(
        {
            "from": from_,
            "to": to,
            "filters": filters_out(product, branch),
            "basis": "balance on `from`",
            "matrix": matrix,
        }
    )


@router.get(
    "/vintage",
    operation_id="getVintageReport",
    tags=["vintage"],
    response_model=VintageOut,
    responses={**CSV, **ERRORS},
)
async def vintage(
    session: DbSession, as_of: AsOf = None, product: Product = None, branch: Branch = None, format: TableFormat = "json"
) -> VintageOut | Response:
    """30+ and 90+ shares of the disbursed amount per cohort and month on book."""
    day = await resolve_day(session, as_of)
    curves = await reports.vintage_report(session, as_of=day, filters=Filters(product, branch))
    if format == "csv":
        return csv_response(tables.vintage_rows(curves), filename=f"vintage-{day}.csv")
    return VintageOut.model_validate({**_meta(day, product, branch), "curves": curves})


@router.get(
    "/collections",
    operation_id="getCollectionsReport",
    tags=["collections"],
    response_model=CollectionsOut,
    responses={**CSV, **ERRORS},
)
async def collections(
    session: DbSession,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
    product: Product = None,
    branch: Branch = None,
    format: TableFormat = "json",
) -> CollectionsOut | Response:
    """Contact, RPC, PTP and kept rates, cure rate, collected per case, CEI, reminder effectiveness."""
    end = await resolve_day(session, to)
    start = from_ or reports.month_to_date(end)[0]
    if start > end:
        raise ProblemError(422, "Invalid period", "`from` must not be after `to`")
    closed_through = await resolve_day(session, None)
    report = await reports.collections_report(
        session, start=start, end=end, filters=Filters(product, branch), closed_through=closed_through
    )
    if format == "csv":
        return csv_response(tables.collections_rows(report), filename=f"collections-{start}-{end}.csv")
    return CollectionsOut.model_validate(vars_of(report) | {"filters": filters_out(product, branch)})


@router.get(
    "/risk",
    operation_id="getRiskReport",
    tags=["risk"],
    response_model=RiskOut,
    responses={**CSV, **ERRORS},
)
async def risk(
    session: DbSession, as_of: AsOf = None, product: Product = None, branch: Branch = None, format: TableFormat = "json"
) -> RiskOut | Response:
    """Scores, open alerts by rule and severity, ECL and IFRS 9 stage mix with provision coverage, reviews by branch."""
    day = await resolve_day(session, as_of)
    report = await reports.risk_report(session, as_of=day, filters=Filters(product, branch))
    if format == "csv":
        return csv_response(tables.risk_rows(report), filename=f"risk-{day}.csv")
    return RiskOut.model_validate(
        {
            **_meta(day, product, branch),
            "score_bands": [{"band": b, "loans": n, "mean_pd": pd} for b, n, pd in report.score_bands],
            "grades": [{"grade": g, "loans": n} for g, n in report.grades],
            "open_alerts": [{"rule_id": r, "severity": s, "open": n} for r, s, n in report.open_alerts],
            "raised_last_30_days": report.raised_last_30_days,
            "provisions": report.provisions,
            "reviews": {"since": report.reviews_since, "total": report.reviews, "by_branch": report.reviews_by_branch},
            "note": "scores are each loan's latest; alerts, ECL, stages and reviews are as of `as_of`",
        }
    )


@router.get(
    "/management",
    operation_id="getManagementReport",
    tags=["management"],
    response_class=Response,
    responses={
        200: {
            "description": "The report as an HTML page, a PDF or an XLSX workbook (`format`)",
            "content": {
                MEDIA["html"]: {"schema": {"type": "string"}},
                MEDIA["pdf"]: {"schema": {"type": "string", "format": "binary"}},
                MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **ERRORS,
    },
)
async def management(
    session: DbSession,
    settings: AppSettings,
    as_of: AsOf = None,
    product: Product = None,
    branch: Branch = None,
    format: Annotated[Literal["html", "pdf", "xlsx"], Query()] = "html",
    lang: Annotated[str, Query()] = "zh-CN",
) -> Response:
    """The management report: headline KPIs vs the previous month end, charts and their tables."""
    if lang not in LANGUAGES:
        raise ProblemError(422, "Unsupported language", f"lang must be one of {', '.join(LANGUAGES)}")
    day = await resolve_day(session, as_of)
    costs = costs_from(cast(Settings, settings))
    report = await management_report(session, as_of=day, filters=Filters(product, branch), costs=costs)
    if format == "html":
        return Response(render_html(report, lang), media_type=MEDIA["html"])
    # A thread of the pool: a PDF takes a CPU-bound second or more, and on the loop it would stall
    # every other request of the process meanwhile.
    body = await run_in_threadpool(RENDERERS[format], report, lang)
    return Response(
        body,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{filename(report, lang, format)}"'},
    )
