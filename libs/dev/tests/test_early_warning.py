"""The early-warning scorecard of `make demo`: truth dates, AUC, flagged share, lead time and precision."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from postloan_dev.simulator import Simulation, SimulationConfig, truth_csv
from postloan_dev.simulator.early_warning import (
    AlertSeen,
    lead_days,
    read_alerts_csv,
    rule_precision,
    scorecard,
    write_alerts_csv,
)
from postloan_dev.simulator.ledger import Payment, monthly_schedule, replay
from postloan_dev.simulator.truth import TruthRow, read_truth_csv

START = date(2026, 1, 1)


def _schedule() -> list:
    return monthly_schedule(
        method="annuity",
        principal=Decimal("1200.00"),
        annual_rate=Decimal("0.12"),
        disbursed_on=date(2026, 1, 5),
        first_due_date=date(2026, 2, 5),
        months=12,
    )


def test_the_first_day_at_a_dpd_is_the_due_date_plus_it_while_unpaid_and_none_once_paid_in_time() -> None:
    schedule = _schedule()
    unpaid = replay(schedule, [], penalty_rate=Decimal("0.18"), as_of=date(2026, 6, 30))
    paid_late = replay(
        schedule,
        [Payment("R1", schedule[0].total, date(2026, 3, 1), 1)],
        penalty_rate=Decimal(0),
        as_of=date(2026, 6, 30),
    )

    assert unpaid.first_day_at(30, date(2026, 1, 5), date(2026, 6, 30)) == date(2026, 3, 7)
    assert unpaid.first_day_at(30, date(2026, 4, 1), date(2026, 6, 30)) == date(2026, 4, 1)  # already past it
    assert unpaid.first_day_at(90, date(2026, 1, 5), date(2026, 5, 5)) is None  # window ends first
    # Paid on day 24 of the first installment: 30 DPD is first reached by the second one (due 5 March).
    assert paid_late.first_day_at(30, date(2026, 1, 5), date(2026, 6, 30)) == date(2026, 4, 4)
    assert paid_late.first_day_at(30, date(2026, 1, 5), date(2026, 4, 3)) is None


def test_the_truth_dates_agree_with_the_default_flag_and_round_trip_through_csv() -> None:
    sim = Simulation(SimulationConfig(seed=5, loans=300, months=12, start=START))
    for _ in sim.run():
        pass
    rows = sim.truth()

    assert all((r.reached_90dpd_on is not None) == r.default_90dpd for r in rows)
    assert all(r.reached_30dpd_on is not None for r in rows if r.default_90dpd)
    assert all(r.reached_30dpd_on <= r.reached_90dpd_on for r in rows if r.reached_90dpd_on and r.reached_30dpd_on)
    assert any(r.reached_30dpd_on and not r.default_90dpd for r in rows)  # curers
    back = read_truth_csv(truth_csv(rows))
    assert [replace(r, propensity=round(r.propensity, 6)) for r in rows] == back


def _row(
    loan_id: str, *, default: bool, at30: date | None = None, at90: date | None = None, p: float = 0.5
) -> TruthRow:
    return TruthRow(
        loan_id=loan_id, customer_id=f"C{loan_id}", product="p", branch="b", archetype="a", propensity=p,
        will_default=default, onset=None, default_90dpd=default, max_dpd=95 if default else 0,
        reached_30dpd_on=at30, reached_90dpd_on=at90, observed_from=START, observed_to=date(2026, 12, 31),
        status="active",
    )  # fmt: skip


def test_lead_time_counts_only_alerts_before_30_dpd_and_runs_to_the_90_dpd_day() -> None:
    row = _row("L1", default=True, at30=date(2026, 5, 1), at90=date(2026, 7, 1))

    assert lead_days(row, date(2026, 4, 1)) == 91
    assert lead_days(row, date(2026, 5, 1)) is None  # on the 30 DPD day is too late
    assert lead_days(row, None) is None
    assert lead_days(_row("L2", default=False), date(2026, 4, 1)) is None


def test_the_scorecard_counts_flagged_defaulters_precision_per_rule_and_the_pd_auc() -> None:
    d = date(2026, 5, 1)
    truth = [
        _row("L1", default=True, at30=d, at90=d + timedelta(60), p=0.9),
        _row("L2", default=True, at30=d, at90=d + timedelta(60), p=0.8),
        _row("L3", default=False, p=0.2),
        _row("L4", default=False, p=0.1),
    ]
    alerts = [
        AlertSeen("L1", "dpd-30", d - timedelta(10)),
        AlertSeen("L1", "score-jump", d - timedelta(40)),  # the first alert counts
        AlertSeen("L2", "score-jump", d + timedelta(5)),  # too late
        AlertSeen("L3", "score-jump", d),
        AlertSeen("X9", "score-jump", d),  # not a booked loan: ignored
    ]
    card = scorecard(truth, alerts, {"L1": 0.3, "L2": 0.05, "L3": 0.1, "L4": 0.01})

    assert (card.defaulters, card.flagged_before_30dpd, card.median_lead_days) == (2, 1, 100)
    assert (card.loans_alerted, card.alerted_that_defaulted) == (3, 2)
    assert card.alerts_raised == 4  # L1 twice, L2, L3; X9 is not booked
    assert card.alerted_drawn_to_default == 2
    assert card.pd_auc == 0.75 and card.best_auc == 1.0
    assert [(r.rule_id, r.loans_alerted, r.went_on_to_default) for r in card.by_rule] == [
        ("score-jump", 3, 2),
        ("dpd-30", 1, 1),
    ]
    assert rule_precision([], {}) == ()


def test_a_loan_drawn_to_default_whose_90_dpd_falls_after_the_window_counts_apart() -> None:
    late = replace(_row("L1", default=False), will_default=True)  # drawn to default, not yet at 90 DPD
    card = scorecard([late, _row("L2", default=False)], [AlertSeen("L1", "r", START)], {})

    assert (card.loans_alerted, card.alerted_that_defaulted, card.alerted_drawn_to_default) == (1, 0, 1)


def test_alerts_round_trip_through_csv() -> None:
    alerts = [AlertSeen("L1", "score-jump", START), AlertSeen("L2", "dpd-over-30", START + timedelta(3))]

    assert read_alerts_csv(write_alerts_csv(alerts)) == alerts
    assert read_alerts_csv(write_alerts_csv([])) == []
