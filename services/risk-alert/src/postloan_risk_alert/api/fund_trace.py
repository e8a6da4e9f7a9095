"""The fund-use trace of a loan and the flags for the monitoring team (issue 15 item 4)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from postloan_common.contracts import CounterpartyKind, LoanPurpose
from postloan_common.web import DbSession, ProblemError
from postloan_common.web.cursors import BadCursor, decode_cursor, encode_cursor
from postloan_common.web.openapi import Page, problems
from postloan_risk_alert.api.deps import Reader
from postloan_risk_alert.service import fund_use
from postloan_risk_alert.store.fund_use_flags import FlagFilter

router = APIRouter(prefix="/v1", tags=["fund-use"], dependencies=[Reader])

Rule = Literal["fund_forbidden_use", "fund_flow_back", "fund_untraced", "fund_splitting"]
AlertStatus = Literal["open", "acknowledged", "resolved", "dismissed"]


class FlowTotal(BaseModel):
    counterparty_kind: CounterpartyKind
    category: str | None
    amount: Decimal
    flows: int


class FundUseFlag(BaseModel):
    """A finding with the flows that caused it and the alert it raised."""

    loan_id: str
    rule: Rule
    reason: str
    amount: Decimal
    flow_ids: list[str]
    raised_on: date
    alert_id: str | None
    status: AlertStatus | None
    product: str | None = None
    branch: str | None = None


class FundUseOut(BaseModel):
    loan_id: str
    purpose: LoanPurpose | None
    currency: str
    disbursed_on: date
    disbursed: Decimal
    traced_out: list[FlowTotal]
    traced_total: Decimal
    untraced_remainder: Decimal
    flows_back: Decimal
    inflows: list[FlowTotal]
    flags: list[FundUseFlag]


@router.get(
    "/risk/loans/{loan_id}/fund-use",
    response_model=FundUseOut,
    responses=problems(404),
)
async def read_fund_use(loan_id: str, session: DbSession) -> FundUseOut:
    """Where the loan's money went: traced amounts by counterparty kind and category, the rest, the flags."""
    async with session.begin():
        found = await fund_use.trace(session, loan_id=loan_id)
    if found is None:
        raise ProblemError(404, "Loan not found", f"loan {loan_id} is not known to risk-alert")
    return FundUseOut.model_validate(found)


def _after(cursor: str) -> tuple[str, str, str]:
    day, loan_id, rule = decode_cursor(cursor, size=3)
    if not all(isinstance(v, str) for v in (day, loan_id, rule)):
        raise BadCursor()
    try:
        date.fromisoformat(day)
    except ValueError:
        raise BadCursor() from None
    return day, loan_id, rule


@router.get(
    "/fund-use/flags",
    response_model=Page[FundUseFlag],
    responses=problems(400, 422),
)
async def list_fund_use_flags(
    session: DbSession,
    status: AlertStatus | None = None,
    product: Annotated[str | None, Query(max_length=64)] = None,
    branch: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[FundUseFlag]:
    """Fund-use flags newest first, by their alert's status, the loan's product and branch; with a cursor."""
    after = _after(cursor) if cursor else None
    async with session.begin():
        where = FlagFilter(status=status, product=product, branch=branch, after=after)
        rows = await fund_use.list_flags(session, where=where, limit=limit + 1)
    items = [FundUseFlag.model_validate(r) for r in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    next_cursor = encode_cursor([last.raised_on.isoformat(), last.loan_id, last.rule]) if last else None
    return Page[FundUseFlag](items=items, next_cursor=next_cursor)
