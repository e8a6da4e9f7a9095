"""How good the platform's early warning is, measured on the simulation's ground truth (issue 14 item 6).

Four figures, the ones a post-loan department would be judged by:
- the AUC of the PD risk-alert gave each loan at the end of month 3 against its realised 90+ DPD
  default, beside the best AUC the truth allows (the true propensity's);
- the share of eventual defaulters that had an alert before they first reached 30 DPD;
- the median lead time of those alerts: days from the first alert to the day the loan reached 90 DPD;
- the alerts' precision: the share of loans with an alert that went on to default (overall and per rule).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from postloan_dev.simulator.truth import TruthRow, auc, best_auc


@dataclass(frozen=True)
class AlertSeen:
    """An alert risk-alert raised on a loan (customer-level alerts are attributed to each of its loans)."""

    loan_id: str
    rule_id: str
    raised_on: date


@dataclass(frozen=True)
class RulePrecision:
    rule_id: str
    loans_alerted: int
    went_on_to_default: int

    @property
    def precision(self) -> float:
        return self.went_on_to_default / self.loans_alerted if self.loans_alerted else 0.0


@dataclass(frozen=True)
class Scorecard:
    loans: int
    defaulters: int
    pd_auc: float | None
    best_auc: float | None
    scored_loans: int
    flagged_before_30dpd: int
    median_lead_days: float | None
    loans_alerted: int
    alerted_that_defaulted: int
    by_rule: tuple[RulePrecision, ...]
    # The workload: alerts raised on booked loans (a rule that resolves and fires again counts each time).
    alerts_raised: int = 0
    # Alerted loans whose borrower was drawn to default, whether or not 90 DPD fell inside the window:
    # a short run cuts off defaults that are under way, so `precision` understates what the rules catch.
    alerted_drawn_to_default: int = 0

    @property
    def flagged_share(self) -> float:
        return self.flagged_before_30dpd / self.defaulters if self.defaulters else 0.0

    @property
    def precision(self) -> float:
        return self.alerted_that_defaulted / self.loans_alerted if self.loans_alerted else 0.0


def first_alerts(alerts: Iterable[AlertSeen]) -> dict[str, date]:
    """Each loan's first alert day."""
    first: dict[str, date] = {}
    for alert in alerts:
        if alert.loan_id not in first or alert.raised_on < first[alert.loan_id]:
            first[alert.loan_id] = alert.raised_on
    return first


def lead_days(row: TruthRow, first_alert: date | None) -> int | None:
    """Days from the first alert to the 90 DPD day, for a defaulter flagged before it reached 30 DPD."""
    if first_alert is None or row.reached_90dpd_on is None or row.reached_30dpd_on is None:
        return None
    if first_alert >= row.reached_30dpd_on:
        return None
    return (row.reached_90dpd_on - first_alert).days


def rule_precision(alerts: Iterable[AlertSeen], defaulted: Mapping[str, bool]) -> tuple[RulePrecision, ...]:
    """Per rule: loans it alerted on and how many of them defaulted, the noisiest rules first."""
    loans_of: dict[str, set[str]] = defaultdict(set)
    for alert in alerts:
        if alert.loan_id in defaulted:
            loans_of[alert.rule_id].add(alert.loan_id)
    rows = [RulePrecision(rule, len(loans), sum(defaulted[loan] for loan in loans)) for rule, loans in loans_of.items()]
    return tuple(sorted(rows, key=lambda r: (-r.loans_alerted, r.rule_id)))


def scorecard(truth: Sequence[TruthRow], alerts: Sequence[AlertSeen], pd_month3: Mapping[str, float]) -> Scorecard:
    """The four early-warning figures of the module docstring over the simulation's booked loans."""
    defaulted = {r.loan_id: r.default_90dpd for r in truth}
    drawn = {r.loan_id for r in truth if r.will_default}
    first = first_alerts(a for a in alerts if a.loan_id in defaulted)
    leads = [lead for r in truth if r.default_90dpd and (lead := lead_days(r, first.get(r.loan_id))) is not None]
    scored = [r for r in truth if r.loan_id in pd_month3]
    return Scorecard(
        loans=len(truth),
        defaulters=sum(defaulted.values()),
        pd_auc=auc([pd_month3[r.loan_id] for r in scored], [r.default_90dpd for r in scored]),
        best_auc=best_auc(scored) if scored else None,
        scored_loans=len(scored),
        flagged_before_30dpd=len(leads),
        median_lead_days=statistics.median(leads) if leads else None,
        loans_alerted=len(first),
        alerted_that_defaulted=sum(defaulted[loan] for loan in first),
        by_rule=rule_precision(alerts, defaulted),
        alerts_raised=sum(a.loan_id in defaulted for a in alerts),
        alerted_drawn_to_default=len(drawn & first.keys()),
    )


def describe(card: Scorecard) -> list[str]:
    """The scorecard as the lines `make demo` prints."""

    def fmt(value: float | None, spec: str = ".4f") -> str:
        return "n/a" if value is None else format(value, spec)

    lines = [
        f"early warning on {card.loans} loans, {card.defaulters} realised 90+ DPD defaults:",
        f"  PD at month 3: AUC {fmt(card.pd_auc)} on {card.scored_loans} scored loans; "
        f"the truth allows {fmt(card.best_auc)} (target ≥ 0.95 × that)",
        f"  defaulters alerted before 30 DPD: {card.flagged_before_30dpd} of {card.defaulters} "
        f"({card.flagged_share:.0%}; target ≥ 85 %), median lead to 90 DPD {fmt(card.median_lead_days, '.0f')} days "
        "(target ≥ 60)",
        f"  alert precision: {card.alerted_that_defaulted} of {card.loans_alerted} alerted loans defaulted "
        f"({card.precision:.0%}; target ≥ 40 %); {card.alerted_drawn_to_default} were drawn to default "
        "(some reach 90 DPD after the window)",
        f"  alerts raised on the loans: {card.alerts_raised}",
    ]
    lines += [
        f"    {r.rule_id}: {r.loans_alerted} loans, {r.went_on_to_default} defaulted ({r.precision:.0%})"
        for r in card.by_rule
    ]
    return lines


ALERT_COLUMNS = ("loan_id", "rule_id", "raised_on")


def write_alerts_csv(alerts: Iterable[AlertSeen]) -> str:
    """The alerts as CSV (`make demo` writes OUT/alerts.csv so the scorecard can be recomputed offline)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ALERT_COLUMNS)
    writer.writerows((a.loan_id, a.rule_id, a.raised_on.isoformat()) for a in alerts)
    return buffer.getvalue()


def read_alerts_csv(text: str) -> list[AlertSeen]:
    """Alerts written by `write_alerts_csv`."""
    return [
        AlertSeen(row["loan_id"], row["rule_id"], date.fromisoformat(row["raised_on"]))
        for row in csv.DictReader(io.StringIO(text))
    ]
