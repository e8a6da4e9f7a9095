"""Idempotent writes answer one way: 201 and an audit row when created, 200 with the first answer when replayed."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import Response

from postloan_common.web import DbSession, Principal, ProblemError
from postloan_risk_alert.service import audit
from postloan_risk_alert.service.refusals import Conflict, Invalid, NotFound


@dataclass(frozen=True)
class Titles:
    """The problem titles a resource gives its 404, 409 and 422 refusals."""

    not_found: str = "Not found"
    conflict: str = "Conflict"
    invalid: str = "Invalid"


def problem(exc: NotFound | Conflict | Invalid, titles: Titles = Titles()) -> ProblemError:
    """The problem+json answer of a refused write."""
    if isinstance(exc, NotFound):
        return ProblemError(404, titles.not_found, str(exc))
    if isinstance(exc, Conflict):
        return ProblemError(409, titles.conflict, str(exc))
    return ProblemError(422, titles.invalid, str(exc), extra={"errors": [{"field": exc.field, "message": str(exc)}]})


@dataclass(frozen=True)
class Audited:
    """The audit row a created write leaves."""

    action: str
    subject: str
    details: dict[str, Any]


async def audit_write(session: DbSession, principal: Principal, correlation_id: str, audited: Audited) -> None:
    """Leave the audit row of `principal`'s write."""
    await audit.record(session, actor=principal.subject, correlation_id=correlation_id, **asdict(audited))


async def write_once(
    session: DbSession,
    *,
    call: Awaitable[tuple[Mapping[str, Any], bool]],
    response: Response,
    principal: Principal,
    correlation_id: str,
    audited: Audited,
    titles: Titles = Titles(),
) -> dict[str, Any]:
    """Run `call` (returns the answer and whether it created) in a transaction; audit a creation, 200 a replay."""
    async with session.begin():
        try:
            result, created = await call
        except (NotFound, Conflict, Invalid) as exc:
            raise problem(exc, titles) from exc
        if created:
            await audit_write(session, principal, correlation_id, audited)
        else:
            response.status_code = 200
    return dict(result)
