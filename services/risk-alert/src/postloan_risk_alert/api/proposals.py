"""Classification by judgement under four eyes: proposals on a loan, approved or rejected by someone else."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from postloan_common.web import CorrelationId, DbSession, Principal, ProblemError, require_roles
from postloan_common.web.cursors import decode_cursor, encode_cursor
from postloan_common.web.openapi import Page, problems
from postloan_common.web.request_bodies import request_body
from postloan_risk_alert.api.writes import Audited, audit_write
from postloan_risk_alert.service import proposals as service
from postloan_risk_alert.store import proposals as store

router = APIRouter(prefix="/v1", tags=["classification"])

Proposer = Depends(require_roles("relationship_manager", "risk_officer"))
Approver = Depends(require_roles("supervisor", "risk_officer"))
ProposalReader = Depends(require_roles("relationship_manager", "risk_officer", "supervisor", "analyst", "system"))
Category = Literal["normal", "special_mention", "substandard", "doubtful", "loss"]
Status = Literal["pending", "approved", "rejected", "superseded"]


class ProposalIn(BaseModel):
    model_config = request_body(
        {
            "classification": "substandard",
            "reason": "Main buyer insolvent; repayment now relies on the collateral",
        }
    )

    classification: Category
    reason: str = Field(min_length=1, max_length=2000)


class DecisionIn(BaseModel):
    model_config = request_body({"note": "Checked against the review findings and cash flow"})

    note: str | None = Field(default=None, max_length=2000)


class ProposalOut(BaseModel):
    proposal_id: str
    loan_id: str
    customer_id: str
    classification: Category
    reason: str
    status: Status
    proposed_by: str
    proposed_on: date
    decided_by: str | None = None
    decided_on: date | None = None
    note: str | None = None


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ProposalOut.model_fields}


@router.post(
    "/loans/{loan_id}/classification-proposals",
    response_model=ProposalOut,
    status_code=201,
    responses=problems(401, 403, 404, 409, 422),
)
async def propose(
    loan_id: str,
    body: ProposalIn,
    response: Response,
    session: DbSession,
    principal: Annotated[Principal, Proposer],
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Propose a classification by judgement; it applies once someone else approves it."""
    async with session.begin():
        try:
            row, created = await service.propose(
                session,
                loan_id=loan_id,
                classification=body.classification,
                reason=body.reason,
                actor=principal.subject,
            )
        except service.LoanNotFound as exc:
            raise ProblemError(404, "Loan not found", f"loan {loan_id} does not exist") from exc
        except service.ProposalConflict as exc:
            raise ProblemError(409, "Proposal conflict", str(exc)) from exc
        except service.RuleRefusal as exc:
            raise _refused(exc) from exc
        if created:
            await _audit(session, principal, "classification-proposal.create", row, correlation_id)
        else:
            response.status_code = 200
    return _fields(row)


def _refused(exc: service.RuleRefusal) -> ProblemError:
    return ProblemError(
        422,
        "Refused by a classification rule",
        str(exc),
        type_="/problems/classification-rule",
        extra={"rule": exc.rule, "errors": [{"field": "body.classification", "message": str(exc)}]},
    )


async def _audit(
    session: DbSession, principal: Principal, action: str, row: dict[str, Any], correlation_id: str
) -> None:
    audited = Audited(action, row["proposal_id"], {"loan_id": row["loan_id"], "classification": row["classification"]})
    await audit_write(session, principal, correlation_id, audited)


async def _decide(
    session: DbSession, *, proposal_id: str, approve: bool, body: DecisionIn, principal: Principal, correlation_id: str
) -> dict[str, Any]:
    async with session.begin():
        try:
            row, changed = await service.decide(
                session,
                proposal_id=proposal_id,
                approve=approve,
                actor=principal.subject,
                note=body.note,
                correlation_id=correlation_id,
            )
        except service.ProposalNotFound as exc:
            raise ProblemError(404, "Proposal not found", f"proposal {proposal_id} does not exist") from exc
        except service.OwnProposal as exc:
            raise ProblemError(403, "Four eyes", str(exc), type_="/problems/four-eyes") from exc
        except service.ProposalConflict as exc:
            raise ProblemError(409, "Proposal decided", str(exc)) from exc
        except service.RuleRefusal as exc:
            raise _refused(exc) from exc
        if changed:
            action = "approve" if approve else "reject"
            await _audit(session, principal, f"classification-proposal.{action}", row, correlation_id)
    return _fields(row)


def _add_decision(name: str, *, approve: bool, doc: str) -> None:
    """Register `POST /classification-proposals/{id}/<name>`; approve and reject differ only in the verdict."""

    async def endpoint(
        proposal_id: str,
        session: DbSession,
        principal: Annotated[Principal, Approver],
        correlation_id: CorrelationId,
        body: DecisionIn | None = None,
    ) -> dict[str, Any]:
        return await _decide(
            session,
            proposal_id=proposal_id,
            approve=approve,
            body=body or DecisionIn(),
            principal=principal,
            correlation_id=correlation_id,
        )

    # The operation id and summary derive from the function's name; keep the ones each route had.
    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    router.post(
        f"/classification-proposals/{{proposal_id}}/{name}",
        response_model=ProposalOut,
        responses=problems(401, 403, 404, 409, 422),
    )(endpoint)


_add_decision(
    "approve", approve=True, doc="Approve someone else's proposal: the loan holds that classification from today."
)
_add_decision("reject", approve=False, doc="Reject someone else's proposal.")


@router.get(
    "/classification-proposals",
    response_model=Page[ProposalOut],
    dependencies=[ProposalReader],
    responses=problems(400, 401, 403, 422),
)
async def list_proposals(
    session: DbSession,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Proposals, oldest first, optionally of one status; paginated with a cursor."""
    after = str(decode_cursor(cursor, size=1)[0]) if cursor else None
    rows = await store.listed(session, status=status_, after=after, limit=limit)
    more = len(rows) > limit
    items = [_fields(r) for r in rows[:limit]]
    return {"items": items, "next_cursor": encode_cursor([items[-1]["proposal_id"]]) if more else None}
