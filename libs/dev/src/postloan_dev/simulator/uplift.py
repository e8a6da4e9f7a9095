"""The true uplift of dunning beside the one the effectiveness report measured (issue 16 item 7), pure.

The simulator's cases are crm's: a loan's case opens the day after the due date of an installment left
unpaid at its close (no grace by default) and is cured on the day the loan is current again. The truth plays the seed
twice: as played (dunned borrowers answer) and with no one answering (every other draw is the same, see
experiment.py). Per case it records the world, its arm, whether it was cured within 30 days of opening and
whether dunning caused that cure (in the undunned world the loan was still past due 30 days after the case
opened). The true uplift is the dunned arms' cure rate as played minus the same loans' cure rate undunned.

The measured uplift is the champion's cure rate minus the control's (the report's control `difference`,
negated); its 95 % interval is Newcombe's hybrid score interval from the two arms' Wilson intervals.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from postloan_dev.simulator.book import LoanStatus, SimLoan
from postloan_dev.simulator.experiment import CONTROL, DunningExperiment

CURE_WINDOW_DAYS = 30  # reporting's CURE_WINDOW_DAYS
Z_95 = 1.959963984540054


AS_PLAYED = "as-played"
NO_DUNNING = "no-dunning"


@dataclass(frozen=True)
class CaseTruth:
    """One case of one world: as played, or the same seed played with no one answering dunning."""

    world: str
    loan_id: str
    arm: str
    role: str
    opened_on: date
    cured_on: date | None
    cured_30d: bool
    caused_by_dunning: bool


CASE_COLUMNS = ("world", "loan_id", "arm", "role", "opened_on", "cured_on", "cured_30d", "caused_by_dunning")


def delinquency_spells(installments: Sequence[tuple[date, date | None]]) -> list[tuple[date, date | None]]:
    """(day the case opens, day the loan is current again or None) of each of a loan's cases, from its
    installments' (due date, day settled or None), as repayment-monitor and crm see them (no grace): an
    installment unsettled at the close of its due date is missed, which opens a case on the next business
    date; the case is cured on the first day the loan's DPD is 0 again (every installment due before it
    settled); one missed while a case is open joins it."""
    late = sorted(
        ((due + timedelta(days=1), settled) for due, settled in installments if settled is None or settled > due),
        key=lambda spell: spell[0],
    )
    spells: list[tuple[date, date | None]] = []
    for start, end in late:
        if spells and (spells[-1][1] is None or start <= spells[-1][1]):
            first, last = spells[-1]
            spells[-1] = (first, None if last is None or end is None else max(last, end))
        else:
            spells.append((start, end))
    return spells


def _spells(loan: SimLoan, *, last_played: date) -> list[tuple[date, date | None]]:
    """The loan's delinquency spells as its ledger stands after `last_played` (settlements after it unknown)."""
    position = loan.position(max(last_played, loan.book_day))
    dues = [(i.due.due_date, i.settled_on if i.settled_on and i.settled_on <= last_played else None)
            for i in position.installments]  # fmt: skip
    return [(opened, cured) for opened, cured in delinquency_spells(dues) if opened <= last_played]


def _cured_within(cured: date | None, opened: date) -> bool:
    return cured is not None and cured <= opened + timedelta(days=CURE_WINDOW_DAYS)


def case_truths(
    played: Sequence[SimLoan], undunned: Sequence[SimLoan], experiment: DunningExperiment, *, last_played: date
) -> list[CaseTruth]:
    """The cases of both worlds: `played` (as played) and `undunned` (the same seed with uplift 0), the latter
    only for the dunned arms' loans (the control's are the same in both). An as-played case's cure was caused
    by dunning when it was cured within 30 days but, in the undunned world, the loan was still past due 30
    days after that case opened."""
    rows: list[CaseTruth] = []
    for loan, twin in zip(played, undunned, strict=True):
        if loan.status is LoanStatus.PENDING:
            continue
        arm = experiment.arm_of(loan.loan_id)
        without = _spells(twin, last_played=last_played)
        for opened, cured in _spells(loan, last_played=last_played):
            cured_30 = _cured_within(cured, opened)
            cf = next(((o, c) for o, c in without if o <= opened and (c is None or c > opened)), None)
            caused = cured_30 and cf is not None and not _cured_within(cf[1], opened)
            rows.append(CaseTruth(AS_PLAYED, loan.loan_id, arm.name, arm.role, opened, cured, cured_30, caused))
        if arm.role != CONTROL:
            rows += [
                CaseTruth(NO_DUNNING, loan.loan_id, arm.name, arm.role, o, c, _cured_within(c, o), False)
                for o, c in without
            ]
    return rows


def cases_csv(rows: Sequence[CaseTruth]) -> str:
    """The case truth as CSV text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CASE_COLUMNS)
    for r in rows:
        cured = r.cured_on.isoformat() if r.cured_on else ""
        writer.writerow([r.world, r.loan_id, r.arm, r.role, r.opened_on.isoformat(), cured, int(r.cured_30d),
                         int(r.caused_by_dunning)])  # fmt: skip
    return buffer.getvalue()


def read_cases_csv(text: str) -> list[CaseTruth]:
    """The rows cases_csv wrote."""
    return [
        CaseTruth(
            world=r["world"],
            loan_id=r["loan_id"],
            arm=r["arm"],
            role=r["role"],
            opened_on=date.fromisoformat(r["opened_on"]),
            cured_on=date.fromisoformat(r["cured_on"]) if r["cured_on"] else None,
            cured_30d=r["cured_30d"] == "1",
            caused_by_dunning=r["caused_by_dunning"] == "1",
        )
        for r in csv.DictReader(io.StringIO(text))
    ]


def mature(rows: Sequence[CaseTruth], *, start: date, end: date, as_of: date) -> list[CaseTruth]:
    """The cases the report judges: opened in `start`..`end` whose 30-day window ended by `as_of`."""
    return [r for r in rows if start <= r.opened_on <= end and r.opened_on + timedelta(days=CURE_WINDOW_DAYS) <= as_of]


def _cure_rate(rows: Sequence[CaseTruth]) -> float | None:
    return sum(r.cured_30d for r in rows) / len(rows) if rows else None


def true_uplift(rows: Sequence[CaseTruth]) -> float | None:
    """The dunned arms' 30-day cure rate as played minus the same loans' rate with no one answering dunning
    (None without cases in either): what champion − control estimates, since the control's loans are a random
    sample of the same book played without dunning."""
    dunned = [r for r in rows if r.role != CONTROL and r.world == AS_PLAYED]
    undunned = [r for r in rows if r.world == NO_DUNNING]
    with_dunning, without = _cure_rate(dunned), _cure_rate(undunned)
    return with_dunning - without if with_dunning is not None and without is not None else None


def wilson(successes: int, trials: int, *, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of successes / trials (trials > 0)."""
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Difference:
    """p1 − p2 with Newcombe's hybrid score 95 % interval."""

    estimate: float
    ci_low: float
    ci_high: float
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)  # k1, n1, k2, n2

    def holds(self, value: float) -> bool:
        return self.ci_low <= value <= self.ci_high


def difference(k1: int, n1: int, k2: int, n2: int) -> Difference | None:
    """k1/n1 − k2/n2 with its interval (Newcombe 1998, method 10); None when a side has no trials."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = wilson(k1, n1), wilson(k2, n2)
    d = p1 - p2
    return Difference(d, d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2), (k1, n1, k2, n2))


def report_query(*, start: date, end: date, experiment: DunningExperiment | None = None) -> dict[str, str]:
    """The query of `GET /v1/reports/effectiveness` for the simulation's experiment over `start`..`end`."""
    strategy_id = (experiment or DunningExperiment()).strategy_id
    return {"experiment": strategy_id, "from": start.isoformat(), "to": end.isoformat()}


def measured_uplift(report: Mapping[str, Any]) -> Difference | None:
    """The champion's 30-day cure rate minus the control's, from `GET /v1/reports/effectiveness` JSON."""
    arms = {a.get("role"): a["rates"]["cure_rate_30d"] for a in report.get("arms", [])}
    champion, control = arms.get("champion"), arms.get(CONTROL)
    if champion is None or control is None:
        return None
    return difference(champion["successes"], champion["trials"], control["successes"], control["trials"])


def measured_from_truth(rows: Sequence[CaseTruth]) -> Difference | None:
    """What the report would measure if the platform saw the cases as the simulator's ledger does."""
    dunned = [r for r in rows if r.role != CONTROL and r.world == AS_PLAYED]
    held = [r for r in rows if r.role == CONTROL and r.world == AS_PLAYED]
    return difference(sum(r.cured_30d for r in dunned), len(dunned), sum(r.cured_30d for r in held), len(held))


def describe_uplift(truth: float | None, measured: Difference | None) -> list[str]:
    """Lines for the demo: the measured uplift with its interval beside the true one."""
    if truth is None or measured is None:
        return ["dunning uplift: not measurable (no mature cases in an arm)"]
    verdict = "inside" if measured.holds(truth) else "OUTSIDE"
    k1, n1, k2, n2 = measured.counts
    return [
        f"dunning uplift (30-day cure, champion − hold-out): measured {measured.estimate:+.4f} "
        f"(95 % CI {measured.ci_low:+.4f} .. {measured.ci_high:+.4f}), true {truth:+.4f}: the true uplift is "
        f"{verdict} the interval",
        f"  cured within 30 days: champion {k1} of {n1} mature cases, hold-out {k2} of {n2}",
    ]
