"""Restructuring: what a new schedule replaces, and the checks and arrears folding of the new schedule.

The basis of a restructuring on day r is the loan replayed with the payments that precede it (all
of them valued on or before r, since later ones are refused): the installments not fully paid
then are replaced. The new schedule's principal must equal their open principal.

Arrears: overdue interest and fee (of replaced installments due on or before r) are folded into the
new schedule. An explicit schedule from core banking already carries them as it chose; a schedule
generated from terms gets them spread evenly over its installments' interest and fee (cents rounded
down, the last installment takes the remainder). Interest not yet due on r is not carried: the generated
schedule charges interest on the outstanding principal from r. Open penalty is waived, not
capitalised: penalty is interest on overdue principal for lateness under the replaced schedule and
never itself bears interest or penalty, which folding it into the new schedule would make it do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from postloan_common.money import quantize_share
from postloan_repayment_monitor.domain.ledger import Payment, Restructuring, Scheduled, replay
from postloan_repayment_monitor.domain.money import ZERO
from postloan_repayment_monitor.domain.rules import Component, ProductRules
from postloan_repayment_monitor.domain.schedule import generate


class InvalidSchedule(ValueError):
    """The new schedule contradicts itself or the restructuring."""


@dataclass(frozen=True)
class Basis:
    """The loan on the restructuring day, just before the restructuring."""

    restructured_on: date
    open_principal: Decimal
    overdue_interest: Decimal
    overdue_fee: Decimal
    open_penalty: Decimal
    dpd: int
    replaced_seqs: tuple[int, ...]


def basis(
    schedule: Sequence[Scheduled],
    payments: Iterable[Payment],
    *,
    rules: ProductRules,
    contract_rate: Decimal,
    restructured_on: date,
    restructurings: Sequence[Restructuring] = (),
) -> Basis:
    """What a restructuring on `restructured_on` replaces, from the payments valued on or before it."""
    ledger = replay(
        schedule,
        [p for p in payments if p.value_date <= restructured_on],
        rules=rules,
        contract_rate=contract_rate,
        as_of=restructured_on,
        restructurings=restructurings,
    )
    replaced = [i for i in ledger.installments if not i.is_clear]
    due = [i for i in replaced if i.due_date <= restructured_on]
    return Basis(
        restructured_on=restructured_on,
        open_principal=sum((i.open_principal for i in replaced), ZERO),
        overdue_interest=sum((i.owed(Component.INTEREST) for i in due), ZERO),
        overdue_fee=sum((i.owed(Component.FEE) for i in due), ZERO),
        open_penalty=sum((i.owed(Component.PENALTY) for i in replaced), ZERO),
        dpd=ledger.dpd,
        replaced_seqs=tuple(i.seq for i in replaced),
    )


def checked(installments: Sequence[Scheduled], *, restructured_on: date, principal: Decimal) -> list[Scheduled]:
    """An explicit new schedule, checked: seq 1, 2, …, due dates increasing after the day, principal repaid."""
    rows = sorted(installments, key=lambda i: i.seq)
    if not rows:
        raise InvalidSchedule("a restructuring needs installments or terms")
    if [i.seq for i in rows] != list(range(1, len(rows) + 1)):
        raise InvalidSchedule("installment seq must run 1, 2, 3, … without gaps")
    dates = [i.due_date for i in rows]
    if dates != sorted(dates) or len(set(dates)) != len(dates):
        raise InvalidSchedule("installment due dates must strictly increase with seq")
    if dates[0] <= restructured_on:
        raise InvalidSchedule(f"the first due date must be after restructured_on {restructured_on}")
    total = sum((i.principal for i in rows), ZERO)
    if total != principal:
        raise InvalidSchedule(f"installment principal sums to {total}, not the outstanding_principal {principal}")
    return rows


def generated(
    *,
    method: str,
    months: int,
    first_due_date: date,
    principal: Decimal,
    annual_rate: Decimal,
    restructured_on: date,
    overdue_interest: Decimal,
    overdue_fee: Decimal,
) -> list[Scheduled]:
    """A new schedule from terms (interest from the restructuring day), with the arrears folded in."""
    try:
        rows = generate(
            method=method,
            principal=principal,
            annual_rate=annual_rate,
            disbursed_on=restructured_on,
            first_due_date=first_due_date,
            months=months,
        )
    except ValueError as exc:
        raise InvalidSchedule(str(exc).replace("disbursed_on", "restructured_on")) from exc
    schedule = [Scheduled(r.seq, r.due_date, r.principal, r.interest, r.fee) for r in rows]
    return fold_arrears(schedule, interest=overdue_interest, fee=overdue_fee)


def fold_arrears(schedule: Sequence[Scheduled], *, interest: Decimal, fee: Decimal) -> list[Scheduled]:
    """Spread `interest` and `fee` evenly over the installments; the last takes the rounding remainder."""
    count = len(schedule)
    # Shares round down, so the remainder left for the last installment is never negative.
    interest_share = quantize_share(interest / count)
    fee_share = quantize_share(fee / count)
    out = []
    for k, inst in enumerate(schedule):
        last = k == count - 1
        out.append(
            replace(
                inst,
                interest=inst.interest + (interest - interest_share * (count - 1) if last else interest_share),
                fee=inst.fee + (fee - fee_share * (count - 1) if last else fee_share),
            )
        )
    return out


def renumbered(schedule: Iterable[Scheduled], *, after_seq: int) -> tuple[Scheduled, ...]:
    """The schedule numbered on from `after_seq`, so no installment of the loan's life shares a seq."""
    return tuple(replace(inst, seq=after_seq + inst.seq) for inst in schedule)
