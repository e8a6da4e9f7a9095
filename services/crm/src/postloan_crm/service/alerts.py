"""Risk alerts and reviews reach the people: the customer's timeline, the case's timeline, watch cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import ReviewDueV1, RiskAlertRaisedV1, RiskAlertResolvedV1
from postloan_crm.domain.alerts import OPEN_ALERT, opens_watch_case
from postloan_crm.domain.strategy import StrategyTable
from postloan_crm.service.cases import CaseBook, Delinquency
from postloan_crm.service.events import Journal, Trace
from postloan_crm.store import alerts as alert_rows
from postloan_crm.store.queries import BadCursor, decode_cursor, encode_cursor, split_page


def _loan_of(event: RiskAlertRaisedV1 | RiskAlertResolvedV1) -> str | None:
    return event.subject_id if event.subject_type.value == "loan" else None


def _entry(
    *,
    customer_id: str | None,
    loan_id: str | None,
    kind: str,
    ref_id: str,
    details: dict[str, Any],
    business_date: date | None,
) -> list[dict[str, Any]]:
    """A customer timeline row, or none when crm cannot tell whose customer it is."""
    if customer_id is None:
        return []
    return [
        {
            "customer_id": customer_id,
            "loan_id": loan_id,
            "kind": kind,
            "ref_id": ref_id,
            "details": details,
            "business_date": business_date,
        }
    ]


def _state(loan: dict[str, Any]) -> Delinquency | None:
    """Where a loan stands for opening its watch case; None when crm has not seen its currency yet."""
    if loan.get("currency") is None:
        return None
    return Delinquency(
        loan["loan_id"], loan["customer_id"], loan["bucket"], loan["dpd"], loan["overdue"], loan["currency"]
    )


def _customer_of(event: RiskAlertRaisedV1, loan: dict[str, Any] | None) -> str | None:
    """Whose alert it is: as the event says, else as crm's loan projection says."""
    if event.customer_id:
        return event.customer_id
    if event.subject_type.value == "customer":
        return event.subject_id
    return loan["customer_id"] if loan else None


def _alert_row(event: RiskAlertRaisedV1, *, customer_id: str | None, business_date: date | None) -> dict[str, Any]:
    return {
        "alert_id": event.alert_id,
        "rule_id": event.rule_id,
        "severity": event.severity.value,
        "subject_type": event.subject_type.value,
        "subject_id": event.subject_id,
        "customer_id": customer_id,
        "loan_id": _loan_of(event),
        "status": OPEN_ALERT,
        "message": event.message,
        "raised_on": business_date,
    }


def _raised_details(event: RiskAlertRaisedV1) -> dict[str, Any]:
    return {
        "alert_id": event.alert_id,
        "rule_id": event.rule_id,
        "severity": event.severity.value,
        "message": event.message,
    }


async def _case_for(book: CaseBook, event: RiskAlertRaisedV1, loan: dict[str, Any] | None, trace: Trace) -> str | None:
    """The loan's open case, or the watch case a high alert opens for it (when crm knows the loan)."""
    loan_id = _loan_of(event)
    if loan_id is None:
        return None
    case_id = book.case_id_of(loan_id)
    state = _state(loan) if loan else None
    if state and opens_watch_case(severity=event.severity.value, subject_type="loan", has_open_case=bool(case_id)):
        case_id = await book.open_watch(state, trace=trace)
    return case_id


async def raise_alerts(
    session: AsyncSession, events: Sequence[tuple[RiskAlertRaisedV1, Trace]], *, strategy: StrategyTable
) -> None:
    """Record each new alert on the customer's and the case's timeline; a high one without a case opens one."""
    journal = Journal()
    loan_ids = [lid for e, _ in events if (lid := _loan_of(e)) is not None]
    loans = await alert_rows.loans_of(session, loan_ids)
    book = await CaseBook.load(session, loan_ids, strategy=strategy, journal=journal)
    entries: list[dict[str, Any]] = []
    for event, trace in events:
        loan_id = _loan_of(event)
        loan = loans.get(loan_id) if loan_id else None
        customer_id = _customer_of(event, loan)
        row = _alert_row(event, customer_id=customer_id, business_date=trace.business_date)
        if not await alert_rows.add_alert(session, row):
            continue  # already known: a second raise of the same alert changes nothing
        details = _raised_details(event)
        entries += _entry(
            customer_id=customer_id,
            loan_id=loan_id,
            kind="risk_alert_raised",
            ref_id=event.alert_id,
            details=details,
            business_date=trace.business_date,
        )
        case_id = await _case_for(book, event, loan, trace)
        if case_id is not None:
            journal.note(case_id=case_id, kind="risk_alert", details=details, business_date=trace.business_date)
    await book.write()
    await journal.write(session)
    await alert_rows.add_timeline_entries(session, entries)


async def resolve_alerts(
    session: AsyncSession, events: Sequence[tuple[RiskAlertResolvedV1, Trace]], *, strategy: StrategyTable
) -> None:
    """Close each open alert; the customer's and the case's timelines say how it ended."""
    journal = Journal()
    loan_ids = [lid for e, _ in events if (lid := _loan_of(e)) is not None]
    book = await CaseBook.load(session, loan_ids, strategy=strategy, journal=journal)
    entries: list[dict[str, Any]] = []
    for event, trace in events:
        row = await alert_rows.close_alert(
            session, alert_id=event.alert_id, status=event.resolution.value, resolved_on=trace.business_date
        )
        if row is None:
            continue  # unknown to crm or already closed: nothing to take back
        details = {
            "alert_id": event.alert_id,
            "rule_id": event.rule_id,
            "resolution": event.resolution.value,
            "resolved_by": event.resolved_by,
            "note": event.note,
        }
        entries += _entry(
            customer_id=row["customer_id"],
            loan_id=row["loan_id"],
            kind="risk_alert_resolved",
            ref_id=event.alert_id,
            details=details,
            business_date=trace.business_date,
        )
        case_id = book.case_id_of(row["loan_id"]) if row["loan_id"] else None
        if case_id is not None:
            journal.note(
                case_id=case_id, kind="risk_alert_resolved", details=details, business_date=trace.business_date
            )
    await journal.write(session)
    await alert_rows.add_timeline_entries(session, entries)


async def reviews_due(
    session: AsyncSession, events: Sequence[tuple[ReviewDueV1, Trace]], *, strategy: StrategyTable
) -> None:
    """A scheduled review goes on the customer's timeline and on the loan's open case's."""
    journal = Journal()
    book = await CaseBook.load(session, [e.loan_id for e, _ in events], strategy=strategy, journal=journal)
    entries: list[dict[str, Any]] = []
    for event, trace in events:
        details = {
            "review_id": event.review_id,
            "kind": event.kind.value,
            "reason": event.reason,
            "due_on": event.due_on.isoformat(),
            "assignee": event.assignee,
        }
        entries += _entry(
            customer_id=event.customer_id,
            loan_id=event.loan_id,
            kind="review_due",
            ref_id=event.review_id,
            details=details,
            business_date=trace.business_date,
        )
        case_id = book.case_id_of(event.loan_id)
        if case_id is not None:
            journal.note(case_id=case_id, kind="review_due", details=details, business_date=trace.business_date)
    await journal.write(session)
    await alert_rows.add_timeline_entries(session, entries)


async def customer_timeline(
    session: AsyncSession, *, customer_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The customer's alerts and reviews, newest first, one page at a time; raises BadCursor."""
    before = None
    if cursor:
        (raw,) = decode_cursor(cursor, 1)
        if not raw.isdigit():
            raise BadCursor("the cursor is not valid")
        before = int(raw)
    rows = await alert_rows.customer_entries(session, customer_id=customer_id, before=before, limit=limit)
    rows, last = split_page(rows, limit)
    return rows, encode_cursor(str(last["id"])) if last else None
