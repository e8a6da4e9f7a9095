"""The collector of crm's events: reminders, contacts, promises, cases and agency placements."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from postloan_common.contracts import crm
from postloan_common.messaging.envelope import Envelope
from postloan_reporting.domain.collections import is_right_party
from postloan_reporting.service.ingest.changes import Changes, business_date
from postloan_reporting.store import upserts


def _reminder(changes: Changes, data: crm.ReminderSentV1, day: date) -> None:
    reminded = changes.keys.get(data.loan_id) if data.loan_id else None
    changes.upsert(upserts.REMINDER, (data.reminder_id, reminded, data.channel.value, day))
    if reminded is not None and data.installment_seq is not None:
        changes.installment(
            reminded, data.installment_seq, due_date=data.due_date, amount=data.amount_due, reminded_on=day
        )


def _contact(changes: Changes, data: crm.ContactAttemptedV1, day: date) -> None:
    changes.upsert(
        upserts.CONTACT,
        (
            data.interaction_id,
            changes.keys.get(data.loan_id) if data.loan_id else None,
            data.case_id,
            data.agent_id,
            data.channel.value,
            data.connected,
            is_right_party(connected=data.connected, party=data.party.value, outcome=data.outcome.value),
            data.outcome.value,
            day,
        ),
    )


def _promise_resolved(changes: Changes, data: crm.PromiseKeptV1 | crm.PromiseBrokenV1, day: date) -> None:
    kept = isinstance(data, crm.PromiseKeptV1)
    changes.upsert(
        upserts.PROMISE_RESOLVED,
        (
            data.promise_id,
            changes.keys[data.loan_id],
            data.case_id,
            data.amount,
            data.promised_date,
            data.promised_date,
            "kept" if kept else "broken",
            data.kept_on if isinstance(data, crm.PromiseKeptV1) else day,
            data.amount_paid,
        ),
    )


def _arm(data: crm.CaseOpenedV1 | crm.CaseClosedV1) -> tuple[str | None, str | None, str | None]:
    """The case's experiment, arm and arm role (all None outside experiments and in events from before them)."""
    return data.experiment, data.arm, data.arm_role.value if data.arm_role else None


def collect(changes: Changes, envelope: Envelope, data: BaseModel) -> None:
    """Add what one crm event writes to `changes`."""
    day = business_date(envelope)
    keys = changes.keys
    match data:
        case crm.ReminderSentV1():
            _reminder(changes, data, day)
        case crm.ContactAttemptedV1():
            _contact(changes, data, day)
        case crm.PromiseToPayMadeV1():
            changes.upsert(
                upserts.PROMISE_MADE,
                (
                    data.promise_id,
                    keys[data.loan_id],
                    data.case_id,
                    data.agent_id,
                    data.amount,
                    data.promised_date,
                    day,
                ),
            )
        case crm.PromiseKeptV1() | crm.PromiseBrokenV1():
            _promise_resolved(changes, data, day)
        case crm.CaseOpenedV1():
            changes.upsert(
                upserts.CASE_OPENED,
                (data.case_id, keys[data.loan_id], data.queue.value, data.assignee, day, data.dpd, *_arm(data)),
            )
        case crm.CaseClosedV1():
            changes.upsert(
                upserts.CASE_CLOSED,
                (
                    data.case_id,
                    keys[data.loan_id],
                    "unknown",
                    data.closed_on,
                    data.closed_on,
                    data.reason.value,
                    data.amount_collected,
                    *_arm(data),
                ),
            )
        case crm.CasePlacedV1():
            placed = (data.case_id, keys[data.loan_id], data.agency_id, data.commission_rate, data.placed_on)
            changes.upsert(upserts.PLACED, (data.placement_id, *placed))
        case crm.CaseRecalledV1():
            recalled = (data.case_id, keys[data.loan_id], data.agency_id, data.recalled_on)
            changes.upsert(upserts.RECALLED, (data.placement_id, *recalled))
