"""Loans: intake, detail, schedule, the overdue work list, event and bucket history."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from postloan_common.web import DbSession, ProblemError
from postloan_common.web.openapi import problems
from postloan_repayment_monitor.api.deps import (
    Buckets,
    PageCursor,
    PageLimit,
    Reader,
    Today,
    Writer,
)
from postloan_repayment_monitor.api.problems import CHANGE, READ_ONE, READ_PAGE, accepted
from postloan_repayment_monitor.api.schemas import (
    DpdHistoryOut,
    LoanEventsOut,
    LoanIn,
    LoanOut,
    ScheduleOut,
    WorkListOut,
)
from postloan_repayment_monitor.api.writes import LoanWrite
from postloan_repayment_monitor.domain.ledger import Ledger
from postloan_repayment_monitor.service import queries
from postloan_repayment_monitor.service.commands import booking_command
from postloan_repayment_monitor.service.intake import Outcome, book_loans
from postloan_repayment_monitor.service.ledgers import LoanFile

router = APIRouter(tags=["loans"])


@router.post(
    "/loans",
    response_model=LoanOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Writer],
    responses={
        **CHANGE,
        200: {"model": LoanOut, "description": "Already registered with the same content"},
    },
    operation_id="registerLoan",
)
async def register_loan(body: LoanIn, write: LoanWrite) -> dict[str, object]:
    """Register a loan with its schedule (or terms); the same body again returns the same loan."""
    async with write.transaction() as events:
        (result,) = await book_loans(
            write.session,
            commands=[booking_command(body)],
            business_date=events.business_date,
            via="rest",
            events=events,
            buckets=write.buckets,
            weekend=write.settings.weekend(),
        )
        booked = accepted(result)
        await write.settle(
            events,
            repeat=booked.outcome is not Outcome.CREATED,
            action="loan.register",
            subject=body.loan_id,
            details={"product": body.product},
        )
        file = await queries.loan_file(write.session, body.loan_id)
        assert file is not None
        return queries.loan_detail(file, file.replay(events.business_date), write.buckets)


@router.get(
    "/loans",
    response_model=WorkListOut,
    dependencies=[Reader],
    operation_id="listOverdueLoans",
    responses=READ_PAGE,
)
async def overdue_work_list(
    session: DbSession,
    today: Today,
    status_: Annotated[str | None, Query(alias="status", pattern="^(active|closed|written_off)$")] = None,
    bucket: Annotated[str | None, Query(max_length=8)] = None,
    min_dpd: Annotated[int, Query(ge=0, le=100000)] = 1,
    product: Annotated[str | None, Query(max_length=64)] = None,
    branch: Annotated[str | None, Query(max_length=64)] = None,
    limit: PageLimit = 100,
    cursor: PageCursor = None,
) -> dict[str, object]:
    """The overdue work list: loans at least `min_dpd` days past due, most overdue first."""
    try:
        items, next_cursor = await queries.work_list(
            session,
            business_date=today,
            status=status_,
            bucket=bucket,
            min_dpd=min_dpd,
            product=product,
            branch=branch,
            limit=limit,
            cursor=cursor,
        )
    except queries.BadCursor as exc:
        raise ProblemError(400, "Bad cursor", str(exc)) from exc
    return {"business_date": today, "items": items, "next_cursor": next_cursor}


async def _file_and_ledger(session: DbSession, today: date, loan_id: str) -> tuple[LoanFile, Ledger]:
    file = await queries.loan_file(session, loan_id)
    if file is None:
        raise ProblemError(404, "Loan not found", f"loan {loan_id} is not known")
    return file, file.replay(today)


async def _current(session: DbSession, today: date, loan_id: str) -> tuple[LoanFile, Ledger]:
    """The loan's ledger from its stored state (no replay) where that equals the replay."""
    found = await queries.current_ledger(session, loan_id, today)
    if found is None:
        raise ProblemError(404, "Loan not found", f"loan {loan_id} is not known")
    return found


@router.get(
    "/loans/{loan_id}",
    response_model=LoanOut,
    dependencies=[Reader],
    operation_id="getLoan",
    responses=READ_ONE,
)
async def get_loan(loan_id: str, session: DbSession, today: Today, buckets: Buckets) -> dict[str, object]:
    """Status, outstanding and overdue amounts by component, penalty, `dpd`, `bucket` and next due."""
    file, ledger = await _current(session, today, loan_id)
    return queries.loan_detail(file, ledger, buckets)


@router.get(
    "/loans/{loan_id}/schedule",
    response_model=ScheduleOut,
    dependencies=[Reader],
    operation_id="getLoanSchedule",
    responses=READ_ONE,
)
async def get_schedule(loan_id: str, session: DbSession, today: Today) -> dict[str, object]:
    """Each installment with its due date, its contractual one (they differ when it was shifted to a business
    day), and its paid and open parts."""
    _file, ledger = await _current(session, today, loan_id)
    shifted = await queries.contract_due_dates(session, loan_id)
    return {"loan_id": loan_id, "business_date": ledger.as_of, "installments": queries.schedule_view(ledger, shifted)}


@router.get(
    "/loans/{loan_id}/events",
    response_model=LoanEventsOut,
    dependencies=[Reader],
    operation_id="listLoanEvents",
    responses=problems(401, 403, 400, 404, 422),
)
async def get_loan_events(
    loan_id: str,
    session: DbSession,
    today: Today,
    limit: PageLimit = 100,
    cursor: PageCursor = None,
) -> dict[str, object]:
    """The loan's event history, oldest first."""
    await _file_and_ledger(session, today, loan_id)
    try:
        items, next_cursor = await queries.events_of(session, loan_id=loan_id, limit=limit, cursor=cursor)
    except queries.BadCursor as exc:
        raise ProblemError(400, "Bad cursor", str(exc)) from exc
    return {"loan_id": loan_id, "items": items, "next_cursor": next_cursor}


@router.get(
    "/loans/{loan_id}/dpd-history",
    response_model=DpdHistoryOut,
    dependencies=[Reader],
    operation_id="getDpdHistory",
    responses=READ_ONE,
)
async def get_dpd_history(
    loan_id: str,
    session: DbSession,
    today: Today,
    buckets: Buckets,
    start: date | None = None,
) -> dict[str, object]:
    """Bucket periods recomputed from the current repayments (reversals and back-valued ones included)."""
    file, ledger = await _file_and_ledger(session, today, loan_id)
    # Before disbursement every day is M0; clamping also keeps a start of 0001-01-01 from costing seconds.
    history = ledger.bucket_history(buckets, max(start or file.row.disbursed_on, file.row.disbursed_on))
    return {
        "loan_id": loan_id,
        "business_date": ledger.as_of,
        "periods": [{"start": s, "bucket": b, "dpd_at_start": d} for s, b, d in history],
    }
