"""`GET /v1/reports/effectiveness`: a strategy experiment's arms side by side, each against the champion."""

from __future__ import annotations

from datetime import date
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from postloan_common.web import AppSettings, DbSession, ProblemError, require_roles
from postloan_reporting.api.formats import csv_response
from postloan_reporting.api.responses import Amount, Ratio
from postloan_reporting.api.routes import CSV, ERRORS, READERS, TableFormat, resolve_day
from postloan_reporting.service import reports
from postloan_reporting.service.effectiveness import costs_from, effectiveness_report, effectiveness_rows
from postloan_reporting.settings import Settings

router = APIRouter(prefix="/v1/reports", dependencies=[Depends(require_roles(*READERS))])
ArmId = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProportionOut(_Out):
    """k of n as a rate with its 95 % Wilson interval; for a challenger, the difference from the champion's rate
    and the two-sided p-value of a pooled two-proportion z-test (null when undefined)."""

    successes: int
    trials: int
    rate: Ratio | None
    ci_low: Ratio | None
    ci_high: Ratio | None
    difference: Ratio | None
    p_value: Ratio | None


class RatesOut(_Out):
    cure_rate_30d: ProportionOut = Field(description="Mature cases cured within 30 days ÷ mature cases")
    roll_forward_rate: ProportionOut = Field(description="Mature cases in a worse bucket 30 days on ÷ mature cases")
    self_cure_rate: ProportionOut = Field(description="Mature cases cured within 30 days with no collector attempt")
    right_party_contact_rate: ProportionOut = Field(description="Cases with a right-party contact ÷ cases")
    promise_rate: ProportionOut = Field(description="Cases with a promise ÷ cases with a right-party contact")
    kept_rate: ProportionOut = Field(description="Promises kept ÷ promises kept or broken")


class ChannelCountOut(_Out):
    channel: str
    count: int


class ArmOut(_Out):
    arm: str
    role: str | None = Field(description="champion | challenger | control, as crm gave it")
    cases: int = Field(description="Cases of the arm opened in the period")
    mature_cases: int = Field(description="Of those, the cases whose 30-day window ended by `as_of`")
    amount_collected: Amount
    attempts: list[ChannelCountOut] = Field(description="Collector attempts on the arm's cases per channel")
    messages: list[ChannelCountOut] = Field(description="Automated messages to the arm's loans while case was open")
    contact_cost: Amount
    collector_hours: Ratio
    collector_cost: Amount
    total_cost: Amount
    cost_per_yuan_recovered: Ratio | None
    cases_per_collector_day: Ratio | None
    rates: RatesOut


class CohortOut(_Out):
    start: date = Field(description="First booking day of the cohort")
    end: date = Field(description="Last booking day of the cohort")
    default_rate: ProportionOut = Field(
        description="Loans defaulted ÷ loans booked; the current one against the year before"
    )


class ProgrammeOut(_Out):
    """Whether the programme works: the default rate of this period's bookings beside the same period a year before."""

    horizon_days: int = Field(description="Days after booking watched in both cohorts: 365, or fewer while young")
    default_after_dpd: int = Field(description="A loan defaults once it is more than this many days past due")
    current: CohortOut
    year_before: CohortOut


class EffectivenessOut(_Out):
    """Per arm of a strategy experiment, its cases opened from `start` to `end`, as known at the close of `as_of`."""

    experiment: str
    start: date
    end: date
    as_of: date
    window_days: int
    champion: str | None = Field(description="The arm the others are compared with")
    arms: list[ArmOut]
    programme: ProgrammeOut


@router.get(
    "/effectiveness",
    operation_id="getEffectivenessReport",
    tags=["effectiveness"],
    response_model=EffectivenessOut,
    responses={**CSV, **ERRORS},
)
async def effectiveness(
    session: DbSession,
    settings: AppSettings,
    experiment: ArmId,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: Annotated[date | None, Query()] = None,
    champion: Annotated[ArmId | None, Query(description="compare with this arm (default: the champion)")] = None,
    format: TableFormat = "json",
) -> EffectivenessOut | Response:
    """Cases, cure, roll-forward, contact, promise and self-cure rates with intervals, costs and productivity."""
    end = await resolve_day(session, to)
    start = from_ or reports.month_to_date(end)[0]
    if start > end:
        raise ProblemError(422, "Invalid period", "`from` must not be after `to`")
    as_of = await resolve_day(session, None)
    costs = costs_from(cast(Settings, settings))
    report = await effectiveness_report(
        session, experiment=experiment, start=start, end=end, as_of=as_of, costs=costs, champion=champion
    )
    if format == "csv":
        return csv_response(effectiveness_rows(report), filename=f"effectiveness-{experiment}-{start}-{end}.csv")
    return EffectivenessOut.model_validate(report)
