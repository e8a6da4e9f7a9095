"""Review tasks: the policy, reads, assignment, completion (findings, breach alert, assessment) and documents."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import ReviewCompletedV1, RiskAlertRaisedV1
from postloan_risk_alert.domain.reviews import (
    OPEN_STATUSES,
    Finding,
    ReviewPolicy,
    ReviewStatus,
    may_complete,
    worst_finding,
)
from postloan_risk_alert.service import assessments as assessment_service
from postloan_risk_alert.service import proposals as proposal_service
from postloan_risk_alert.service.alerts import current_business_date
from postloan_risk_alert.service.refusals import Conflict, Invalid, NotFound
from postloan_risk_alert.service.review_scheduling import current_policy
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store import events
from postloan_risk_alert.store import reviews as store
from postloan_risk_alert.store.tables import alert_history, alerts, review_documents, review_policy, reviews

BREACH_RULE = "review-breach"


class ReviewNotFound(NotFound):
    """No review has that id."""


class ReviewConflict(Conflict):
    """The review's state (or an earlier, different completion) forbids the request."""


class NotAllowed(PermissionError):
    """The caller may not complete this review."""


class InvalidReference(Invalid):
    """A field names something that does not exist; `field` is its JSON path."""


async def get_policy(session: AsyncSession) -> dict[str, Any]:
    """The policy in force with its version (0: the defaults, never changed)."""
    _, version = await store.load_policy(session)
    return {"policy": await current_policy(session), "version": version}


async def put_policy(session: AsyncSession, *, policy: ReviewPolicy, actor: str) -> dict[str, Any]:
    """Replace the policy; the next close of day schedules by it."""
    document = policy.model_dump(mode="json")
    await session.execute(
        pg_insert(review_policy)
        .values(id=1, policy=document, version=1, updated_by=actor)
        .on_conflict_do_update(
            index_elements=[review_policy.c.id],
            set_={
                "policy": document,
                "version": review_policy.c.version + 1,
                "updated_by": actor,
                "updated_at": func.now(),
            },
        )
    )
    return await get_policy(session)


def view(row: dict[str, Any]) -> dict[str, Any]:
    """A review as the API shows it: the row with its completion unpacked."""
    completion = row.get("completion") or {}
    fields = ("review_id", "loan_id", "customer_id", "kind", "reason", "due_on", "status", "assignee", "created_on")
    return {
        **{k: row[k] for k in fields},
        "completed_on": row.get("completed_on"),
        "completed_by": row.get("completed_by"),
        "findings": completion.get("request", {}).get("findings"),
        "recommendation": completion.get("request", {}).get("recommendation"),
        "documents": completion.get("request", {}).get("documents", []),
        "assessment_id": completion.get("assessment_id"),
        "alert_id": completion.get("alert_id"),
        "proposal_id": completion.get("proposal_id"),
    }


async def get(session: AsyncSession, *, review_id: str) -> dict[str, Any]:
    """One review (ReviewNotFound when none)."""
    row = await store.get_review(session, review_id)
    if row is None:
        raise ReviewNotFound(review_id)
    return view(row)


async def assign(session: AsyncSession, *, review_id: str, assignee: str) -> dict[str, Any]:
    """Give an open review to someone (ReviewConflict once it is done or cancelled)."""
    row = await store.get_review(session, review_id, for_update=True)
    if row is None:
        raise ReviewNotFound(review_id)
    if row["status"] not in OPEN_STATUSES:
        raise ReviewConflict(f"review {review_id} is {row['status']}")
    await session.execute(
        update(reviews).where(reviews.c.review_id == review_id).values(assignee=assignee, updated_at=func.now())
    )
    return {**view(row), "assignee": assignee}


async def add_document(
    session: AsyncSession, *, review_id: str, name: str, media_type: str, content: bytes, actor: str
) -> dict[str, Any]:
    """Store a document's bytes under its sha256 (the same bytes again: the first answer)."""
    row = await store.get_review(session, review_id)
    if row is None:
        raise ReviewNotFound(review_id)
    digest = hashlib.sha256(content).hexdigest()
    await session.execute(
        pg_insert(review_documents)
        .values(
            review_id=review_id,
            sha256=digest,
            name=name,
            media_type=media_type,
            size=len(content),
            content=content,
            uploaded_by=actor,
        )
        .on_conflict_do_nothing()
    )
    return (await store.documents_of(session, review_id))[digest]


async def complete(
    session: AsyncSession,
    *,
    review_id: str,
    request: dict[str, Any],
    actor: str,
    roles: frozenset[str],
    settings: Settings,
    correlation_id: str | None,
) -> tuple[dict[str, Any], bool]:
    """Complete a review; returns it and whether this call changed anything (False: a repeat)."""
    row = await store.get_review(session, review_id, for_update=True)
    if row is None:
        raise ReviewNotFound(review_id)
    if row["status"] == ReviewStatus.DONE:
        if (row["completion"] or {}).get("request") == request:
            return view(row), False
        raise ReviewConflict(f"review {review_id} was completed already with other findings")
    if row["status"] == ReviewStatus.CANCELLED:
        raise ReviewConflict(f"review {review_id} was cancelled (the loan closed)")
    if not may_complete(actor=actor, assignee=row["assignee"], roles=roles):
        raise NotAllowed("only the assignee, a supervisor or a risk officer completes a review")
    await _check_documents(session, review_id, request.get("documents", []))
    business_date = await current_business_date(session)
    findings = {k: Finding(v["result"]) for k, v in request["findings"].items()}
    worst = worst_finding(findings)
    completion: dict[str, Any] = {"request": request, "assessment_id": None, "alert_id": None}
    if request["recommendation"] == "reclassify":
        completion["proposal_id"] = await _propose(session, row, request.get("proposed_classification"), actor)
    if request.get("financials"):
        completion["assessment_id"] = await _assess(
            session, row["customer_id"], request["financials"], actor, settings, correlation_id
        )
    if worst is Finding.BREACH:
        breached = sorted(k for k, f in findings.items() if f is Finding.BREACH)
        completion["alert_id"] = await _raise_breach(session, row, breached, business_date, actor, correlation_id)
    await session.execute(
        update(reviews)
        .where(reviews.c.review_id == review_id)
        .values(
            status=ReviewStatus.DONE.value,
            completed_on=business_date,
            completed_by=actor,
            completion=completion,
            updated_at=func.now(),
        )
    )
    done = {**row, "status": "done", "completed_on": business_date, "completed_by": actor, "completion": completion}
    event = ReviewCompletedV1(
        review_id=review_id,
        loan_id=row["loan_id"],
        customer_id=row["customer_id"],
        kind=row["kind"],
        completed_on=business_date,
        completed_by=actor[:500],
        worst_finding=worst.value,
        recommendation=request["recommendation"],
        alert_id=completion["alert_id"],
    )
    await events.publish(
        session, event, subject=row["loan_id"], business_date=business_date, correlation_id=correlation_id
    )
    return view(done), True


async def _propose(session: AsyncSession, row: dict[str, Any], classification: str | None, actor: str) -> str:
    """`reclassify` opens a classification proposal for a second person to approve."""
    if classification is None:
        raise InvalidReference("body.proposed_classification", "required when the recommendation is reclassify")
    try:
        proposal, _ = await proposal_service.propose(
            session,
            loan_id=row["loan_id"],
            classification=classification,
            reason=f"review {row['review_id']}",
            actor=actor,
        )
    except proposal_service.RuleRefusal as exc:
        raise InvalidReference("body.proposed_classification", str(exc)) from exc
    except proposal_service.ProposalConflict as exc:
        raise ReviewConflict(str(exc)) from exc
    return str(proposal["proposal_id"])


async def _check_documents(session: AsyncSession, review_id: str, documents: list[dict[str, Any]]) -> None:
    uploaded = await store.documents_of(session, review_id)
    for i, document in enumerate(documents):
        stored = uploaded.get(document["sha256"])
        if stored is None:
            raise InvalidReference(
                f"body.documents[{i}].sha256", "no document with this sha256 was uploaded to the review"
            )
        if stored["size"] != document["size"]:
            raise InvalidReference(f"body.documents[{i}].size", "differs from the uploaded document's size")


async def _assess(
    session: AsyncSession,
    customer_id: str,
    financials: dict[str, Any],
    actor: str,
    settings: Settings,
    correlation_id: str | None,
) -> int:
    """The review's financial figures become the customer's assessment for their period."""
    result = await assessment_service.submit(
        session,
        customer_id=customer_id,
        period_end=date.fromisoformat(financials["period_end"]),
        currency=financials["currency"],
        figures={k: Decimal(str(financials[k])) for k in assessment_service.FIGURES},
        actor=actor,
        settings=settings,
        correlation_id=correlation_id,
    )
    return int(result["id"])


async def _raise_breach(
    session: AsyncSession,
    row: dict[str, Any],
    breached: list[str],
    business_date: date,
    actor: str,
    correlation_id: str | None,
) -> str:
    """Raise the loan's review-breach alert, or return the one still open (one open alert per rule and subject)."""
    message = f"review {row['review_id']} found a breach: {', '.join(breached)}"
    alert_id = str(uuid.uuid4())
    inserted = (
        await session.execute(
            pg_insert(alerts)
            .values(
                alert_id=alert_id,
                rule_id=BREACH_RULE,
                subject_type="loan",
                subject_id=row["loan_id"],
                customer_id=row["customer_id"],
                severity="high",
                status="open",
                message=message,
                raised_on=business_date,
            )
            .on_conflict_do_nothing()
            .returning(alerts.c.alert_id)
        )
    ).scalar()
    if inserted is None:
        return str(await store.open_alert_id(session, rule_id=BREACH_RULE, loan_id=row["loan_id"]))
    await session.execute(
        insert(alert_history).values(alert_id=alert_id, actor=actor, action="raise", to_status="open", note=message)
    )
    event = RiskAlertRaisedV1(
        alert_id=alert_id,
        rule_id=BREACH_RULE,
        severity="high",
        subject_type="loan",
        subject_id=row["loan_id"],
        customer_id=row["customer_id"],
        message=message[:500],
    )
    await events.publish(
        session, event, subject=row["loan_id"], business_date=business_date, correlation_id=correlation_id
    )
    return alert_id
