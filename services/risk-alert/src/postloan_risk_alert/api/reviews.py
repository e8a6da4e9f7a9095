"""Post-loan reviews (贷后检查): the policy, the worklist, assignment, completion and documents."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from postloan_common.audit import changes
from postloan_common.web import CorrelationId, DbSession, Principal, ProblemError, require_roles
from postloan_common.web.cursors import BadCursor, decode_cursor, encode_cursor
from postloan_common.web.openapi import Page, problems
from postloan_risk_alert.api.deps import ServiceConfig
from postloan_risk_alert.api.review_schemas import (
    AssignIn,
    CompleteIn,
    DocumentOut,
    PolicyOut,
    ReviewKind,
    ReviewOut,
    ReviewStatus,
)
from postloan_risk_alert.api.writes import Audited, audit_write
from postloan_risk_alert.domain.reviews import ReviewPolicy
from postloan_risk_alert.service import reviews as review_service
from postloan_risk_alert.service.assessments import DuplicateAssessment
from postloan_risk_alert.store import reviews as review_store

router = APIRouter(prefix="/v1", tags=["reviews"])

PolicyKeeper = Depends(require_roles("risk_officer", "admin"))
ReviewReader = Depends(
    require_roles("relationship_manager", "risk_officer", "supervisor", "analyst", "collector", "system")
)
Dispatcher = Depends(require_roles("supervisor", "risk_officer"))
Reviewer = Depends(require_roles("relationship_manager", "supervisor", "risk_officer"))
# Documents are scans and photographs; the global body cap (1 MiB) is the size cap as well.
MAX_DOCUMENT_BYTES = 1024 * 1024


def _not_found(review_id: str) -> ProblemError:
    return ProblemError(404, "Review not found", f"review {review_id} does not exist")


@router.get("/review-policy", response_model=PolicyOut, dependencies=[PolicyKeeper], responses=problems(401, 403))
async def get_review_policy(session: DbSession) -> dict[str, Any]:
    """The review policy in force: terms per segment and product, triggered-review delay, notice."""
    return await review_service.get_policy(session)


@router.put("/review-policy", response_model=PolicyOut, dependencies=[PolicyKeeper], responses=problems(401, 403, 422))
async def put_review_policy(
    body: ReviewPolicy,
    session: DbSession,
    principal: Annotated[Principal, PolicyKeeper],
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Replace the review policy; the next close of day schedules by it."""
    async with session.begin():
        before = await review_service.get_policy(session)
        result = await review_service.put_policy(session, policy=body, actor=principal.subject)
        audited = Audited(
            "review-policy.update",
            "review-policy",
            {"version": result["version"], "changes": changes(_flat(before), _flat(result))},
        )
        await audit_write(session, principal, correlation_id, audited)
    return result


def _flat(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy's fields and its version side by side, so the audit diff names the field that changed."""
    return {"version": policy["version"], **policy["policy"].model_dump(mode="json")}


@router.get("/reviews", response_model=Page[ReviewOut], dependencies=[ReviewReader], responses=problems(400, 401, 403))
async def list_reviews(
    session: DbSession,
    status_: Annotated[ReviewStatus | None, Query(alias="status")] = None,
    kind: ReviewKind | None = None,
    loan_id: Annotated[str | None, Query(max_length=64)] = None,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    assignee: Annotated[str | None, Query(max_length=200)] = None,
    due_before: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Reviews by due date, filtered; paginated with a cursor."""
    after = None
    if cursor:
        due_on, review_id = decode_cursor(cursor, size=2)
        try:
            after = (date.fromisoformat(str(due_on)), str(review_id))
        except ValueError:
            raise BadCursor() from None
    filters = {"status": status_, "kind": kind, "loan_id": loan_id, "customer_id": customer_id, "assignee": assignee}
    rows = await review_store.list_reviews(session, filters=filters, due_before=due_before, after=after, limit=limit)
    more = len(rows) > limit
    items = [review_service.view(r) for r in rows[:limit]]
    last = items[-1] if more else None
    return {
        "items": items,
        "next_cursor": encode_cursor([last["due_on"].isoformat(), last["review_id"]]) if last else None,
    }


@router.get(
    "/reviews/{review_id}", response_model=ReviewOut, dependencies=[ReviewReader], responses=problems(401, 403, 404)
)
async def get_review(review_id: str, session: DbSession) -> dict[str, Any]:
    """One review with its findings once completed."""
    try:
        return await review_service.get(session, review_id=review_id)
    except review_service.ReviewNotFound as exc:
        raise _not_found(review_id) from exc


@router.post("/reviews/{review_id}/assign", response_model=ReviewOut, responses=problems(401, 403, 404, 409, 422))
async def assign_review(
    review_id: str,
    body: AssignIn,
    session: DbSession,
    principal: Annotated[Principal, Dispatcher],
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Give an open review to a relationship manager (or anyone who will do it)."""
    async with session.begin():
        try:
            before = await review_service.get(session, review_id=review_id)
            result = await review_service.assign(session, review_id=review_id, assignee=body.assignee)
        except review_service.ReviewNotFound as exc:
            raise _not_found(review_id) from exc
        except review_service.ReviewConflict as exc:
            raise ProblemError(409, "Review closed", str(exc)) from exc
        audited = Audited(
            "review.assign",
            review_id,
            {
                "assignee": body.assignee,
                "changes": changes({"assignee": before["assignee"]}, {"assignee": body.assignee}),
            },
        )
        await audit_write(session, principal, correlation_id, audited)
    return result


@router.post("/reviews/{review_id}/complete", response_model=ReviewOut, responses=problems(401, 403, 404, 409, 422))
async def complete_review(
    review_id: str,
    body: CompleteIn,
    session: DbSession,
    settings: ServiceConfig,
    principal: Annotated[Principal, Reviewer],
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Record the findings; a breach raises an alert, financials become an assessment (the same request: 200)."""
    request = body.model_dump(mode="json")
    async with session.begin():
        try:
            result, changed = await review_service.complete(
                session,
                review_id=review_id,
                request=request,
                actor=principal.subject,
                roles=frozenset(principal.roles),
                settings=settings,
                correlation_id=correlation_id,
            )
        except review_service.ReviewNotFound as exc:
            raise _not_found(review_id) from exc
        except review_service.NotAllowed as exc:
            raise ProblemError(403, "Not your review", str(exc)) from exc
        except (review_service.ReviewConflict, DuplicateAssessment) as exc:
            raise ProblemError(409, "Review conflict", str(exc)) from exc
        except review_service.InvalidReference as exc:
            raise ProblemError(
                422, "Invalid reference", str(exc), extra={"errors": [{"field": exc.field, "message": str(exc)}]}
            ) from exc
        if changed:
            audited = Audited(
                "review.complete", review_id, {"recommendation": body.recommendation, "alert_id": result["alert_id"]}
            )
            await audit_write(session, principal, correlation_id, audited)
    return result


@router.post(
    "/reviews/{review_id}/documents",
    response_model=DocumentOut,
    status_code=201,
    responses=problems(401, 403, 404, 413, 422),
)
async def upload_document(
    review_id: str,
    request: Request,
    session: DbSession,
    principal: Annotated[Principal, Reviewer],
    correlation_id: CorrelationId,
    name: Annotated[str, Query(min_length=1, max_length=200)],
) -> dict[str, Any]:
    """Upload a document's bytes (the body, typed by Content-Type); reference it by sha256 when completing."""
    media_type = request.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    content = await request.body()
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ProblemError(413, "Document too large", f"a document may be at most {MAX_DOCUMENT_BYTES} bytes")
    if not content:
        raise ProblemError(
            422, "Empty document", "the body is empty", extra={"errors": [{"field": "body", "message": "empty"}]}
        )
    async with session.begin():
        try:
            result = await review_service.add_document(
                session, review_id=review_id, name=name, media_type=media_type, content=content, actor=principal.subject
            )
        except review_service.ReviewNotFound as exc:
            raise _not_found(review_id) from exc
        audited = Audited("review.document", review_id, {"sha256": result["sha256"], "size": result["size"]})
        await audit_write(session, principal, correlation_id, audited)
    return result
