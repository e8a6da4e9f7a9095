"""The INSERT … ON CONFLICT of each analytics table an event writes as a row of its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_common.db_arrays import columns_of, unnest_sql
from postloan_reporting.store.tables import (
    alerts,
    cases,
    contacts,
    loan_ecl,
    loan_secured,
    placements,
    promises,
    recoveries,
    reminders,
    reviews,
    scores,
    write_offs,
)


@dataclass(frozen=True)
class Upsert:
    """One INSERT … ON CONFLICT per run of events; rows of one key collapse as one after another would."""

    table: Table
    columns: tuple[str, ...]
    key: tuple[str, ...]
    update: tuple[str, ...] = ()  # set from the later event; () keeps the first (DO NOTHING)
    sql: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        action = (
            "DO UPDATE SET " + ", ".join(f"{name} = EXCLUDED.{name}" for name in self.update)
            if self.update
            else "DO NOTHING"
        )
        sql = (
            f"INSERT INTO {self.table.name} ({', '.join(self.columns)})"
            f" SELECT * FROM {unnest_sql(self.table, self.columns)}"
            f" ON CONFLICT ({', '.join(self.key)}) {action}"
        )
        object.__setattr__(self, "sql", sql)

    def collapse(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """One row per key: the first event's values with the update columns of the last."""
        key_at = [self.columns.index(name) for name in self.key]
        update_at = [self.columns.index(name) for name in self.update]
        merged: dict[tuple[Any, ...], list[Any]] = {}
        for row in rows:
            key = tuple(row[i] for i in key_at)
            if (known := merged.get(key)) is None:
                merged[key] = list(row)
            else:
                for i in update_at:
                    known[i] = row[i]
        return [tuple(row) for row in merged.values()]

    async def write(self, session: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
        """Write a run's rows of this table, collapsed to one per key, in one statement."""
        connection = await driver_connection(session)
        await connection.execute(self.sql, *columns_of(self.collapse(rows), len(self.columns)))


SCORE = Upsert(
    scores,
    ("loan_key", "score", "pd", "grade", "model_version", "business_date"),
    ("loan_key",),
    ("score", "pd", "grade", "model_version", "business_date"),
)
ALERT_RAISED = Upsert(
    alerts,
    ("alert_id", "rule_id", "severity", "subject_type", "subject_id", "raised_on"),
    ("alert_id",),
    ("rule_id", "severity", "subject_type", "subject_id", "raised_on"),
)
ALERT_RESOLVED = Upsert(
    alerts,
    ("alert_id", "rule_id", "subject_type", "subject_id", "resolved_on", "resolution"),
    ("alert_id",),
    ("resolved_on", "resolution"),
)
REMINDER = Upsert(reminders, ("reminder_id", "loan_key", "channel", "business_date"), ("reminder_id",))
CONTACT = Upsert(
    contacts,
    (
        "interaction_id",
        "loan_key",
        "case_id",
        "agent_id",
        "channel",
        "connected",
        "right_party",
        "outcome",
        "business_date",
    ),
    ("interaction_id",),
)
PROMISE_MADE = Upsert(
    promises,
    ("promise_id", "loan_key", "case_id", "agent_id", "amount", "promised_date", "made_on"),
    ("promise_id",),
    ("loan_key", "case_id", "agent_id", "amount", "promised_date", "made_on"),
)
PROMISE_RESOLVED = Upsert(
    promises,
    (
        "promise_id",
        "loan_key",
        "case_id",
        "amount",
        "promised_date",
        "made_on",
        "status",
        "resolved_on",
        "amount_paid",
    ),
    ("promise_id",),
    ("status", "resolved_on", "amount_paid"),
)
_ARM = ("experiment", "arm", "arm_role")
CASE_OPENED = Upsert(
    cases,
    ("case_id", "loan_key", "queue", "assignee", "opened_on", "opened_dpd", *_ARM),
    ("case_id",),
    ("loan_key", "queue", "assignee", "opened_on", "opened_dpd", *_ARM),
)
# Both case events carry the arm, which never changes: a close seen first already knows it.
CASE_CLOSED = Upsert(
    cases,
    ("case_id", "loan_key", "queue", "opened_on", "closed_on", "close_reason", "amount_collected", *_ARM),
    ("case_id",),
    ("closed_on", "close_reason", "amount_collected"),
)
# The latest classification of a business date gives the loan's ECL and stage from that day on.
LOAN_ECL = Upsert(
    loan_ecl, ("loan_key", "business_date", "ifrs9_stage", "ecl"), ("loan_key", "business_date"), ("ifrs9_stage", "ecl")
)
# The latest secured value of a business date gives the loan's value from that day on.
LOAN_SECURED = Upsert(
    loan_secured, ("loan_key", "business_date", "secured_value"), ("loan_key", "business_date"), ("secured_value",)
)
# A review's events may arrive in any order: each sets only the columns it knows.
REVIEW_DUE = Upsert(
    reviews,
    ("review_id", "loan_key", "kind", "reason", "due_on", "scheduled_on"),
    ("review_id",),
    ("reason", "due_on", "scheduled_on"),
)
REVIEW_OVERDUE = Upsert(
    reviews, ("review_id", "loan_key", "kind", "due_on", "overdue_on"), ("review_id",), ("due_on", "overdue_on")
)
REVIEW_COMPLETED = Upsert(
    reviews,
    ("review_id", "loan_key", "kind", "completed_on", "worst_finding", "recommendation"),
    ("review_id",),
    ("completed_on", "worst_finding", "recommendation"),
)
# Recoveries after write-off and agency placements: a placement's two events may arrive in any order.
WRITE_OFF = Upsert(write_offs, ("loan_key", "written_off_on"), ("loan_key",), ("written_off_on",))
RECOVERY = Upsert(recoveries, ("repayment_id", "loan_key", "amount", "received_on", "channel"), ("repayment_id",))
PLACED = Upsert(
    placements,
    ("placement_id", "case_id", "loan_key", "agency_id", "commission_rate", "placed_on"),
    ("placement_id",),
    ("commission_rate", "placed_on"),
)
RECALLED = Upsert(
    placements, ("placement_id", "case_id", "loan_key", "agency_id", "recalled_on"), ("placement_id",), ("recalled_on",)
)
