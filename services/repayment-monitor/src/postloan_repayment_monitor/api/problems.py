"""The problem answers of the routes, and the one place a refusal becomes one (docs/adr/0009-one-refusal-shape.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from postloan_common.web import ProblemError
from postloan_common.web.openapi import problems
from postloan_repayment_monitor.domain.posting import Rejection
from postloan_repayment_monitor.domain.refusal import Refusal
from postloan_repayment_monitor.service.intake import BookingCode
from postloan_repayment_monitor.service.restructure import RestructureCode

T = TypeVar("T")

# The problem statuses each kind of route declares (in the order its OpenAPI operation lists them).
READ_ONE = problems(401, 403, 404)  # one resource by its id
READ_PAGE = problems(401, 403, 400, 422)  # a page of a list: 400 for a cursor not from this API
CHANGE = problems(401, 403, 409, 422)  # a write the current state can refuse
LOAN_WRITE = problems(401, 403, 404, 409, 422)  # a write about a loan or repayment that may not exist


@dataclass(frozen=True)
class _Problem:
    status: int
    # (title, type) of the booking problems, which predate the code-derived ones.
    named: tuple[str, str] | None = None


_PROBLEMS: dict[str, _Problem] = {
    Rejection.UNKNOWN_LOAN: _Problem(404),
    Rejection.UNKNOWN_REPAYMENT: _Problem(404),
    Rejection.LOAN_CLOSED: _Problem(409),
    Rejection.ID_REUSED: _Problem(409),
    Rejection.AMOUNT_NOT_POSITIVE: _Problem(422),
    Rejection.WRONG_CURRENCY: _Problem(422),
    Rejection.VALUE_DATE_IN_FUTURE: _Problem(422),
    Rejection.VALUE_DATE_BEFORE_DISBURSEMENT: _Problem(422),
    Rejection.VALUE_DATE_BEFORE_RESTRUCTURING: _Problem(422),
    Rejection.PRECEDES_RESTRUCTURING: _Problem(409),
    RestructureCode.ID_REUSED: _Problem(409),
    RestructureCode.DATE_IN_FUTURE: _Problem(422),
    RestructureCode.DATE_BEFORE_DISBURSEMENT: _Problem(422),
    RestructureCode.DATE_NOT_AFTER_PREVIOUS: _Problem(422),
    RestructureCode.INVALID_SCHEDULE: _Problem(422),
    RestructureCode.PRINCIPAL_MISMATCH: _Problem(422),
    BookingCode.CONFLICT: _Problem(409, ("Loan already exists", "/problems/loan-conflict")),
    BookingCode.INVALID: _Problem(422, ("Invalid loan", "/problems/invalid-loan")),
}


def refusal_problem(refusal: Refusal) -> ProblemError:
    """The problem response for `refusal`: status by its code; title, type and `reason` derived from the code."""
    code = str(refusal.code)
    problem = _PROBLEMS[code]
    if problem.named is not None:
        title, type_ = problem.named
        return ProblemError(problem.status, title, refusal.detail, type_=type_)
    return ProblemError(
        problem.status,
        code.replace("_", " ").capitalize(),
        refusal.detail,
        type_=f"/problems/{code.replace('_', '-')}",
        extra={"reason": code},
    )


def accepted(result: T | Refusal) -> T:
    """The result of a write, or its refusal raised as the problem response."""
    if isinstance(result, Refusal):
        raise refusal_problem(result)
    return result
