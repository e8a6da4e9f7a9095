"""Folding events into a loan's feature projection (a dict of `loan_features` columns).

DPD between events is derived at close of day from `overdue_since` (DPD = D − overdue_since), so
only events that change the oldest unpaid due date move it. A delinquency episode runs from the day
a loan falls overdue to the day it is cured; closed episodes are kept compactly (last 24).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from postloan_common.contracts import LoanRescheduledV1
from postloan_risk_alert.domain.classification import CATEGORY_OF, NONE, observation_restart

MAX_EPISODES = 24
NEGATIVE_OUTCOMES = frozenset({"refused", "wrong_number", "dispute", "hardship"})

State = dict[str, Any]


def new_loan(
    *,
    loan_id: str,
    customer_id: str,
    product: str,
    branch: str,
    currency: str,
    principal: Decimal,
    annual_rate: Decimal,
    disbursed_on: date,
    installment_count: int,
    first_due_date: date,
    maturity_date: date,
    segment: str,
) -> State:
    """The projection of a newly registered loan."""
    return {
        "loan_id": loan_id,
        "customer_id": customer_id,
        "product": product,
        "branch": branch,
        "segment": segment,
        "currency": currency,
        "principal": principal,
        "outstanding": principal,
        "annual_rate": annual_rate,
        "disbursed_on": disbursed_on,
        "maturity_date": maturity_date,
        "installment_count": installment_count,
        "period_days": period_days(first_due_date, maturity_date, installment_count),
        "dirty": True,
    }


def period_days(first_due: date, maturity: date, installments: int) -> int:
    """The average days between repayment dates (30 for a single installment)."""
    if installments <= 1:
        return 30
    return max(1, round((maturity - first_due).days / (installments - 1)))


def set_dpd(state: State, *, dpd: int, as_of: date) -> None:
    """Record the DPD reported on `as_of`, opening or closing a delinquency episode."""
    if dpd > 0:
        state["overdue_since"] = as_of - timedelta(days=dpd)
        state["last_delinquent_on"] = as_of
        if state.get("episode_started_on") is None:
            state["episode_started_on"] = state["overdue_since"]
            state["episode_max"] = dpd
        else:
            state["episode_max"] = max(int(state.get("episode_max") or 0), dpd)
        return
    if state.get("overdue_since") is not None or state.get("episode_started_on") is not None:
        close_episode(state, as_of=as_of)


def close_episode(state: State, *, as_of: date) -> None:
    """End the open delinquency episode on `as_of`."""
    started = state.get("episode_started_on")
    if started is not None:
        reached = max(int(state.get("episode_max") or 0), _dpd_on(state, as_of - timedelta(days=1)))
        episodes = list(state.get("dpd_episodes") or [])
        episodes.append({"s": started.isoformat(), "e": as_of.isoformat(), "m": reached})
        state["dpd_episodes"] = episodes[-MAX_EPISODES:]
    state["overdue_since"] = None
    state["episode_started_on"] = None
    state["episode_max"] = 0
    state["last_cured_on"] = as_of
    state["consecutive_misses"] = 0


def _dpd_on(state: State, day: date) -> int:
    since = state.get("overdue_since")
    return max(0, (day - since).days) if since is not None else 0


def payment_due(state: State, *, amount_due: Decimal, days_before_due: int) -> None:
    """An installment fell due (counted once, at T0)."""
    if days_before_due == 0:
        state["amount_due"] = (state.get("amount_due") or Decimal(0)) + amount_due


def payment_received(
    state: State, *, amount: Decimal, credit: Decimal, outstanding: Decimal, overdue: Decimal, dpd: int, as_of: date
) -> None:
    """A repayment was applied."""
    state["amount_paid"] = (state.get("amount_paid") or Decimal(0)) + amount - credit
    state["payments_count"] = int(state.get("payments_count") or 0) + 1
    if overdue > 0:
        state["partial_payments"] = int(state.get("partial_payments") or 0) + 1
    else:
        state["consecutive_misses"] = 0
    state["outstanding"], state["overdue"] = outstanding, overdue
    set_dpd(state, dpd=dpd, as_of=as_of)


def payment_reversed(
    state: State, *, amount: Decimal, outstanding: Decimal, overdue: Decimal, dpd: int, as_of: date
) -> None:
    """A repayment was reversed: the loan is as if it had never been made."""
    state["amount_paid"] = max(Decimal(0), (state.get("amount_paid") or Decimal(0)) - amount)
    state["reversals"] = int(state.get("reversals") or 0) + 1
    state["outstanding"], state["overdue"] = outstanding, overdue
    if dpd > 0 and state.get("episode_started_on") is None and state.get("dpd_episodes"):
        # The reversal reopens the episode the reversed payment had closed.
        last = state["dpd_episodes"][-1]
        state["dpd_episodes"] = state["dpd_episodes"][:-1]
        state["episode_started_on"] = date.fromisoformat(last["s"])
        state["episode_max"] = int(last["m"])
    set_dpd(state, dpd=dpd, as_of=as_of)


def payment_missed(state: State, *, due_date: date, dpd: int, as_of: date, overdue: Decimal | None = None) -> None:
    """An installment is unpaid after its grace period; a miss restarts a restructured loan's observation."""
    state["missed_count"] = int(state.get("missed_count") or 0) + 1
    state["consecutive_misses"] = int(state.get("consecutive_misses") or 0) + 1
    if overdue is not None:
        state["overdue"] = max(overdue, state.get("overdue") or Decimal(0))
    if state.get("restructured") and state.get("restructured_on") and due_date >= state["restructured_on"]:
        state["observation_start"] = observation_restart(due_date, int(state.get("period_days") or 30))
    set_dpd(state, dpd=dpd, as_of=as_of)


def delinquency_changed(state: State, *, dpd: int, overdue: Decimal, outstanding: Decimal, as_of: date) -> None:
    """The bucket moved."""
    state["overdue"], state["outstanding"] = overdue, outstanding
    set_dpd(state, dpd=dpd, as_of=as_of)


def cured(state: State, *, cured_on: date, outstanding: Decimal) -> None:
    """The loan returned to DPD 0."""
    state["overdue"], state["outstanding"] = Decimal(0), outstanding
    set_dpd(state, dpd=0, as_of=cured_on)


def closed(state: State, *, closed_on: date) -> None:
    """Nothing is owed any more."""
    if state.get("episode_started_on") is not None:
        close_episode(state, as_of=closed_on)
    state["status"] = "closed"
    state["outstanding"] = state["overdue"] = Decimal(0)


def rescheduled(state: State, schedule: LoanRescheduledV1, *, category: str | None) -> None:
    """The loan was restructured: observation starts at the first repayment date of the new schedule."""
    state["restructured"] = True
    state["restructured_on"] = schedule.restructured_on
    state["restructure_count"] = int(state.get("restructure_count") or 0) + 1
    state["observation_start"] = schedule.first_due_date
    state["installment_count"] = schedule.installment_count
    state["maturity_date"] = schedule.maturity_date
    state["period_days"] = period_days(schedule.first_due_date, schedule.maturity_date, schedule.installment_count)
    state["outstanding"] = schedule.outstanding_principal
    floor = 2 if schedule.dpd_before > 90 else (1 if schedule.dpd_before > 0 else 0)
    state["category_at_restructure"] = max(CATEGORY_OF.get(category or "", NONE), floor)
    state["consecutive_misses"] = 0
    # The new schedule replaces the arrears.
    state["overdue"] = Decimal(0)
    set_dpd(state, dpd=0, as_of=schedule.restructured_on)


def contact_attempted(state: State, *, connected: bool, outcome: str, right_party: bool) -> None:
    """A collector or dialler tried to reach the debtor."""
    state["contacts"] = int(state.get("contacts") or 0) + 1
    if connected:
        state["contacts_connected"] = int(state.get("contacts_connected") or 0) + 1
    if right_party:
        state["contacts_rpc"] = int(state.get("contacts_rpc") or 0) + 1
    if outcome in NEGATIVE_OUTCOMES:
        state["contacts_negative"] = int(state.get("contacts_negative") or 0) + 1


def promise(state: State, *, kind: str) -> None:
    """A promise to pay was made, kept or broken."""
    column = {"made": "promises_made", "kept": "promises_kept", "broken": "broken_promises"}[kind]
    state[column] = int(state.get(column) or 0) + 1
