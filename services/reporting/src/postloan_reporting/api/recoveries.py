"""`/v1/reports/recoveries` and `/v1/reports/fund-use`: recoveries after write-off with agency commission,
and the loans risk-alert flagged for their use of funds."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from postloan_common.web import DbSession, ProblemError, require_roles
from postloan_reporting.api.formats import csv_response
from postloan_reporting.api.responses import Amount, FiltersOut, Ratio, filters_out
from postloan_reporting.api.routes import (
    CSV,
    ERRORS,
    READERS,
    AsOf,
    Branch,
    Product,
    TableFormat,
    resolve_day,
    vars_of,
)
from postloan_reporting.service import reports, tables
from postloan_reporting.service.fund_use import fund_use_report
from postloan_reporting.service.recoveries import recoveries_report
from postloan_reporting.service.reports import Filters

router = APIRouter(prefix="/v1/reports", dependencies=[Depends(require_roles(*READERS))])


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RecoverySliceOut(_Out):
    """Loans written off in the period (of a product, branch or cohort), what came back on them, the rate."""

    key: str = Field(description="The product, branch or write-off cohort (YYYY-MM); `all` for the total")
    loans: int
    written_off: Amount = Field(description="Their gross balance on the day before the write-off")
    recovered: Amount = Field(description="Received on them after write-off, up to `to`")
    recovery_rate: Ratio | None = Field(description="recovered ÷ written_off; null when nothing was written off")


class AgencyOut(_Out):
    """An agency's placements and what it is owed for the period."""

    agency_id: str
    cases_placed: int = Field(description="Cases placed with the agency in the period")
    amount_recovered: Amount = Field(
        description="Payments and recoveries received on its placed loans while placed, in the period"
    )
    commission_owed: Amount = Field(description="amount recovered × the placement's commission rate, per placement")


class RecoveriesOut(_Out):
    """Recoveries after write-off by product, branch and write-off cohort, and agency commission."""

    start: date
    end: date
    filters: FiltersOut
    total: RecoverySliceOut
    by_product: list[RecoverySliceOut]
    by_branch: list[RecoverySliceOut]
    by_cohort: list[RecoverySliceOut]
    agencies: list[AgencyOut]


@router.get(
    "/recoveries",
    operation_id="getRecoveriesReport",
    tags=["recoveries"],
    response_model=RecoveriesOut,
    responses={**CSV, **ERRORS},
)
async def recoveries(
    session: DbSession,
    from_: Annotated[date | None, Query(alias="from", description="default: the first of `to`'s month")] = None,
    to: Annotated[date | None, Query(description="default: the latest closed business day")] = None,
    product: Product = None,
    branch: Branch = None,
    format: TableFormat = "json",
) -> RecoveriesOut | Response:
    """Written off, recovered and recovery rate of the loans written off in the period; agencies' commission owed."""
    end = await resolve_day(session, to)
    start = from_ or reports.month_to_date(end)[0]
    if start > end:
        raise ProblemError(422, "Invalid period", "`from` must not be after `to`")
    report = await recoveries_report(session, start=start, end=end, filters=Filters(product, branch))
    if format == "csv":
        return csv_response(tables.recoveries_csv_rows(report), filename=f"recoveries-{start}-{end}.csv")
    return RecoveriesOut.model_validate(vars_of(report) | {"filters": filters_out(product, branch)})


class FundUseSliceOut(_Out):
    """Fund-use flags of a rule, product or branch (`all`: every one): open, loans, their outstanding."""

    key: str
    open_flags: int = Field(description="Flags open at the end of `as_of`")
    loans_flagged: int = Field(description="Loans with an open flag (once each, whatever their rules)")
    outstanding_flagged: Amount = Field(description="Their outstanding principal at the end of `as_of`")
    raised: int = Field(description="Flags raised from `since` to `as_of`")
    resolved: int = Field(description="Flags resolved or dismissed from `since` to `as_of`")


class FundUseOut(_Out):
    """Loans flagged for their use of funds (资金流向) by rule, product and branch.

    risk-alert's alerts carry no amount of misused funds: the flagged loans' outstanding stands in."""

    as_of: date
    since: date
    filters: FiltersOut
    total: FundUseSliceOut
    by_rule: list[FundUseSliceOut]
    by_product: list[FundUseSliceOut]
    by_branch: list[FundUseSliceOut]


@router.get(
    "/fund-use",
    operation_id="getFundUseReport",
    tags=["fund-use"],
    response_model=FundUseOut,
    responses={**CSV, **ERRORS},
)
async def fund_use(
    session: DbSession, as_of: AsOf = None, product: Product = None, branch: Branch = None, format: TableFormat = "json"
) -> FundUseOut | Response:
    """Fund-use flags (fund_forbidden_use, fund_flow_back, fund_untraced, fund_splitting) open and in the month."""
    day = await resolve_day(session, as_of)
    report = await fund_use_report(session, as_of=day, filters=Filters(product, branch))
    if format == "csv":
        return csv_response(tables.fund_use_rows(report), filename=f"fund-use-{day}.csv")
    return FundUseOut.model_validate(vars_of(report) | {"filters": filters_out(product, branch)})
