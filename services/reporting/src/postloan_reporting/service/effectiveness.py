"""The effectiveness report: per arm of a strategy experiment, outcomes and costs, each against the champion."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_reporting.domain import effectiveness as rules
from postloan_reporting.domain.effectiveness import ArmTally, CaseOutcome, Proportion
from postloan_reporting.domain.model import dpd_on
from postloan_reporting.domain.ratios import ZERO, money, ratio
from postloan_reporting.settings import Settings
from postloan_reporting.store import effectiveness as store


@dataclass(frozen=True, slots=True)
class Costs:
    """Unit cost per channel, a collector's minutes per attempt per channel and the cost of a collector hour."""

    unit: Mapping[str, Decimal]
    handle_minutes: Mapping[str, Decimal]
    hour: Decimal


@dataclass(frozen=True, slots=True)
class ChannelCount:
    channel: str
    count: int


@dataclass(frozen=True, slots=True)
class ArmReport:
    arm: str
    role: str | None
    cases: int
    mature_cases: int
    amount_collected: Decimal
    attempts: list[ChannelCount]
    messages: list[ChannelCount]
    contact_cost: Decimal
    collector_hours: Decimal
    collector_cost: Decimal
    total_cost: Decimal
    cost_per_yuan_recovered: Decimal | None
    cases_per_collector_day: Decimal | None
    rates: dict[str, Proportion] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cohort:
    """Loans booked `start`..`end` and the share of them that defaulted (against the year before's, for the
    current cohort)."""

    start: date
    end: date
    default_rate: Proportion


@dataclass(frozen=True, slots=True)
class ProgrammeView:
    horizon_days: int
    default_after_dpd: int
    current: Cohort
    year_before: Cohort


@dataclass(frozen=True, slots=True)
class EffectivenessReport:
    experiment: str
    start: date
    end: date
    as_of: date
    window_days: int
    champion: str | None
    arms: list[ArmReport]
    programme: ProgrammeView


def _outcome(row: Mapping[str, Any], *, window: int) -> CaseOutcome:
    after = dpd_on(row["anchor_after"], rules.window_end(row["opened_on"], days=window))
    return CaseOutcome(
        arm=row["arm"],
        role=row["arm_role"],
        opened_on=row["opened_on"],
        opened_dpd=row["opened_dpd"],
        closed_on=row["closed_on"],
        close_reason=row["close_reason"],
        amount_collected=row["amount_collected"],
        dpd_after=after,
        contacted=row["contacted"],
        right_party=row["right_party"],
        promised=row["promised"],
        kept=row["kept"],
        broken=row["broken"],
    )


def _rates(arm: ArmTally, base: ArmTally | None) -> dict[str, Proportion]:
    """Each rate of `arm` as (k, n), compared with `base` (the champion) unless it is the champion."""
    pairs = {
        "cure_rate_30d": lambda a: (a.cured, a.mature),
        "roll_forward_rate": lambda a: (a.rolled, a.mature),
        "self_cure_rate": lambda a: (a.self_cured, a.mature),
        "right_party_contact_rate": lambda a: (a.right_party, a.cases),
        "promise_rate": lambda a: (a.promised, a.right_party),
        "kept_rate": lambda a: (a.kept, a.resolved),
    }
    compare = base is not None and base.arm != arm.arm
    return {
        name: rules.proportion(*pair(arm), champion=pair(base) if compare and base is not None else None)
        for name, pair in pairs.items()
    }


async def arm_reports(
    session: AsyncSession,
    *,
    experiment: str,
    start: date,
    end: date,
    as_of: date,
    costs: Costs,
    champion: str | None = None,
) -> tuple[str | None, list[ArmReport]]:
    """The champion and, champion first, each arm of `experiment` with cases opened `start`..`end`."""
    window = rules.CURE_WINDOW_DAYS
    rows = await store.cohort_cases(session, experiment=experiment, start=start, end=end, window=window)
    tallies = rules.tally([_outcome(r, window=window) for r in rows], as_of=as_of)
    counts = await store.channel_counts(session, experiment=experiment, start=start, end=end, as_of=as_of)
    worked = await store.productivity(session, experiment=experiment, start=start, end=end)
    base_name = rules.champion_of(tallies, named=champion)
    base = tallies.get(base_name) if base_name is not None else None
    arms = []
    for name in sorted(tallies, key=lambda n: (n != base_name, n)):
        attempts, messages = counts.get((name, "attempt"), {}), counts.get((name, "message"), {})
        arms.append(_arm_report(tallies[name], base, attempts, messages, worked.get(name, (0, 0)), costs))
    return base_name, arms


def _arm_report(
    arm: ArmTally,
    base: ArmTally | None,
    attempts: Mapping[str, int],
    messages: Mapping[str, int],
    worked: tuple[int, int],
    costs: Costs,
) -> ArmReport:
    direct, _, _ = rules.contact_cost(
        _summed(attempts, messages), unit_cost=costs.unit, handle_minutes={}, hour_cost=ZERO
    )
    _, hours, time_cost = rules.contact_cost(
        attempts, unit_cost={}, handle_minutes=costs.handle_minutes, hour_cost=costs.hour
    )
    total = money(direct + time_cost)
    return ArmReport(
        arm=arm.arm,
        role=arm.role,
        cases=arm.cases,
        mature_cases=arm.mature,
        amount_collected=money(arm.collected),
        attempts=_listed(attempts),
        messages=_listed(messages),
        contact_cost=direct,
        collector_hours=hours,
        collector_cost=time_cost,
        total_cost=total,
        cost_per_yuan_recovered=rules.cost_per_yuan(total, arm.collected),
        cases_per_collector_day=ratio(*worked),
        rates=_rates(arm, base),
    )


async def effectiveness_report(
    session: AsyncSession,
    *,
    experiment: str,
    start: date,
    end: date,
    as_of: date,
    costs: Costs,
    champion: str | None = None,
) -> EffectivenessReport:
    """Per arm of `experiment`, its cases opened `start`..`end` as known at the close of `as_of`."""
    period = {"start": start, "end": end, "as_of": as_of}
    base_name, arms = await arm_reports(session, experiment=experiment, costs=costs, champion=champion, **period)
    programme = await programme_view(session, **period)
    return EffectivenessReport(experiment, start, end, as_of, rules.CURE_WINDOW_DAYS, base_name, arms, programme)


@dataclass(frozen=True, slots=True)
class ExperimentArms:
    experiment: str
    champion: str | None
    arms: list[ArmReport]


@dataclass(frozen=True, slots=True)
class MonthEffectiveness:
    """The management report's programme-effectiveness section: the programme view of the month's bookings
    and every experiment with cases opened in the month."""

    start: date
    end: date
    as_of: date
    programme: ProgrammeView
    experiments: list[ExperimentArms]


async def month_effectiveness(
    session: AsyncSession, *, start: date, end: date, as_of: date, costs: Costs
) -> MonthEffectiveness:
    """The arms of each experiment with cases opened `start`..`end`, and the programme view of a year before."""
    found = []
    for experiment in await store.experiments(session, start=start, end=end):
        champion, arms = await arm_reports(
            session, experiment=experiment, start=start, end=end, as_of=as_of, costs=costs
        )
        found.append(ExperimentArms(experiment, champion, arms))
    # The month's own bookings have no days behind them at its end (0 defaults beside 0): the section
    # judges the latest cohort with a year of history, the same month a year before, beside two years before.
    programme = await programme_view(session, start=rules.year_before(start), end=rules.year_before(end), as_of=as_of)
    return MonthEffectiveness(start, end, as_of, programme, found)


def costs_from(settings: Settings) -> Costs:
    """The report's costs from the `contact_unit_cost`, `contact_handle_minutes`, `collector_hour_cost` settings."""
    return Costs(settings.contact_unit_cost, settings.contact_handle_minutes, settings.collector_hour_cost)


async def programme_view(session: AsyncSession, *, start: date, end: date, as_of: date) -> ProgrammeView:
    """The default rate of the loans booked `start`..`end` beside those booked a year before, same horizon."""
    horizon = rules.observed_days(cohort_end=end, as_of=as_of)
    threshold = rules.DEFAULT_AFTER_DPD
    before = (rules.year_before(start), rules.year_before(end))
    prior = await store.cohort_defaults(session, start=before[0], end=before[1], horizon=horizon, threshold=threshold)
    now = await store.cohort_defaults(session, start=start, end=end, horizon=horizon, threshold=threshold)
    return ProgrammeView(
        horizon_days=horizon,
        default_after_dpd=threshold,
        current=Cohort(start, end, rules.proportion(*now, champion=prior)),
        year_before=Cohort(*before, rules.proportion(*prior)),
    )


def _summed(*counts: Mapping[str, int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for by_channel in counts:
        for channel, n in by_channel.items():
            total[channel] = total.get(channel, 0) + n
    return total


def _listed(counts: Mapping[str, int]) -> list[ChannelCount]:
    return [ChannelCount(channel, n) for channel, n in sorted(counts.items())]


def effectiveness_rows(report: EffectivenessReport) -> list[dict[str, Any]]:
    """One CSV row per arm: its counts and costs, then each rate with its interval, difference and p-value."""
    rows = []
    for arm in report.arms:
        row: dict[str, Any] = {
            "experiment": report.experiment,
            "arm": arm.arm,
            "role": arm.role,
            "cases": arm.cases,
            "mature_cases": arm.mature_cases,
            "amount_collected": arm.amount_collected,
            "contacts": sum(c.count for c in (*arm.attempts, *arm.messages)),
            "contact_cost": arm.contact_cost,
            "collector_hours": arm.collector_hours,
            "collector_cost": arm.collector_cost,
            "total_cost": arm.total_cost,
            "cost_per_yuan_recovered": arm.cost_per_yuan_recovered,
            "cases_per_collector_day": arm.cases_per_collector_day,
        }
        for name, rate in arm.rates.items():
            row |= {
                name: rate.rate,
                f"{name}_ci_low": rate.ci_low,
                f"{name}_ci_high": rate.ci_high,
                f"{name}_difference": rate.difference,
                f"{name}_p_value": rate.p_value,
            }
        rows.append(row)
    return rows
