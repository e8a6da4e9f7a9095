"""What a run of events writes, gathered by the per-topic collectors before one write per table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.envelope import Envelope
from postloan_reporting.domain.intervals import FactKind
from postloan_reporting.store import facts
from postloan_reporting.store.upserts import Upsert

# `since` of a loan whose intervals are refolded from all its facts.
FROM_THE_START = date.min


def business_date(envelope: Envelope) -> date:
    """The business date an event belongs to (its time's date when the producer gave none)."""
    return envelope.business_date or envelope.time.date()


@dataclass
class Installment:
    due_date: date | None
    amount_due: Decimal | None
    missed: bool
    reminded_on: date | None


@dataclass
class Changes:
    """What a run of events writes, and the day from which each touched loan is refolded."""

    keys: dict[str, int]
    facts: list[tuple[Any, ...]] = field(default_factory=list)
    registrations: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    installments: dict[tuple[int, int], Installment] = field(default_factory=dict)
    upserts: list[tuple[Upsert, list[tuple[Any, ...]]]] = field(default_factory=list)
    refold_from: dict[int, date] = field(default_factory=dict)
    changed_from: date | None = None

    def touch(self, loan_id: str, day: date, *, from_the_start: bool = False) -> int:
        """The loan's key; its intervals are refolded from `day` (or from the start)."""
        key = self.keys[loan_id]
        since = FROM_THE_START if from_the_start else day
        self.refold_from[key] = min(self.refold_from.get(key, since), since)
        self.changed_from = day if self.changed_from is None else min(self.changed_from, day)
        return key

    def fact(self, envelope: Envelope, key: int, kind: FactKind, effective: date, **values: Any) -> None:
        """Add a loan fact of `envelope` (`values` named as `facts.FACT_VALUES`)."""
        self.facts.append(
            (
                envelope.id,
                key,
                kind.value,
                effective,
                business_date(envelope),
                *(values.get(n) for n in facts.FACT_VALUES),
            )
        )

    def upsert(self, spec: Upsert, row: tuple[Any, ...]) -> None:
        """Add a row to `spec`'s table; consecutive rows of one table are written in one statement."""
        if self.upserts and self.upserts[-1][0] is spec:
            self.upserts[-1][1].append(row)
        else:
            self.upserts.append((spec, [row]))

    def installment(
        self,
        key: int,
        seq: int,
        *,
        due_date: date | None,
        amount: Decimal | None,
        missed: bool = False,
        reminded_on: date | None = None,
    ) -> None:
        """Merge what an event says of an installment as the stored merge would."""
        known = self.installments.get((key, seq))
        if known is None:
            self.installments[(key, seq)] = Installment(due_date, amount, missed, reminded_on)
            return
        known.due_date = known.due_date if known.due_date is not None else due_date
        known.amount_due = known.amount_due if known.amount_due is not None else amount
        known.missed = known.missed or missed
        if reminded_on is not None:
            known.reminded_on = reminded_on if known.reminded_on is None else min(known.reminded_on, reminded_on)

    async def write(self, session: AsyncSession) -> None:
        """Write everything gathered: registrations, row upserts in order, installments, facts."""
        await facts.register(session, rows=list(self.registrations.values()))
        for spec, rows in self.upserts:
            await spec.write(session, rows)
        await facts.merge_installments(
            session,
            rows=[
                (key, seq, i.due_date, i.amount_due, i.missed, i.reminded_on)
                for (key, seq), i in self.installments.items()
            ],
        )
        await facts.insert_facts(session, rows=self.facts)
