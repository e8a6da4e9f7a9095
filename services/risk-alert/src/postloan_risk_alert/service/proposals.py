"""Classification proposals: propose, approve or reject under four eyes, apply the judgement the same day."""

from __future__ import annotations

import secrets
import time
from datetime import date
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import ClassificationChangedV1
from postloan_risk_alert.domain import classification as cls
from postloan_risk_alert.domain.judgement import JUDGEMENT, may_decide, refusing_rule
from postloan_risk_alert.service.alerts import current_business_date
from postloan_risk_alert.store import events
from postloan_risk_alert.store import proposals as store
from postloan_risk_alert.store.tables import classification_proposals, classifications, loan_features


class LoanNotFound(LookupError):
    """No loan has that id."""


class ProposalNotFound(LookupError):
    """No proposal has that id."""


class ProposalConflict(ValueError):
    """The proposal's state, or a pending one with other content, forbids the request."""


class OwnProposal(PermissionError):
    """The proposer tried to decide their own proposal."""


class RuleRefusal(ValueError):
    """The proposal is better than a classification rule allows; `rule` names it."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"the classification would be better than the {rule} rule allows (docs/domain.md)")
        self.rule = rule


def _new_id() -> str:
    # Time-ordered, so listing by id lists by creation.
    return f"CP-{time.time_ns() // 1_000_000:012x}-{secrets.token_hex(6)}"


def _check_rules(state: dict[str, Any], proposed: str) -> None:
    category = state["category"] or cls.PRESUMED_CATEGORY
    reason = state["reason"] or cls.REASONS[cls.PERFORMING]
    if reason == JUDGEMENT:
        # With a judgement in force, the rules' own category is what judgement may not beat.
        category, reason = state["own_category"], cls.REASONS[cls.DPD_FLOOR]
    rule = refusing_rule(proposed=proposed, dpd=state["dpd"], rules_category=category, rules_reason=reason)
    if rule is not None:
        raise RuleRefusal(rule)


async def propose(
    session: AsyncSession, *, loan_id: str, classification: str, reason: str, actor: str
) -> tuple[dict[str, Any], bool]:
    """Create a pending proposal; the same one again returns the first (False: nothing new)."""
    state = await store.loan_state(session, loan_id)
    if state is None:
        raise LoanNotFound(loan_id)
    if state["status"] != "active":
        raise ProposalConflict(f"loan {loan_id} is {state['status']}")
    pending = await store.pending_of(session, loan_id)
    if pending is not None:
        same = (pending["classification"], pending["reason"], pending["proposed_by"]) == (classification, reason, actor)
        if same:
            return pending, False
        raise ProposalConflict(f"loan {loan_id} has a pending proposal {pending['proposal_id']}")
    _check_rules(state, classification)
    row = {
        "proposal_id": _new_id(),
        "loan_id": loan_id,
        "customer_id": state["customer_id"],
        "classification": classification,
        "reason": reason,
        "status": "pending",
        "proposed_by": actor,
        "proposed_on": await current_business_date(session),
    }
    await session.execute(insert(classification_proposals).values(**row))
    return (await store.get(session, row["proposal_id"])) or row, True


async def decide(
    session: AsyncSession, *, proposal_id: str, approve: bool, actor: str, note: str | None, correlation_id: str | None
) -> tuple[dict[str, Any], bool]:
    """Approve (and apply) or reject a pending proposal; repeating the same decision returns it unchanged."""
    row = await store.get(session, proposal_id, for_update=True)
    if row is None:
        raise ProposalNotFound(proposal_id)
    outcome = "approved" if approve else "rejected"
    if row["status"] != "pending":
        if row["status"] == outcome and row["decided_by"] == actor:
            return row, False
        raise ProposalConflict(f"proposal {proposal_id} is {row['status']}")
    if not may_decide(actor=actor, proposer=row["proposed_by"]):
        raise OwnProposal("four eyes: the proposer cannot approve or reject their own proposal")
    business_date = await current_business_date(session)
    state = await store.loan_state(session, row["loan_id"])
    if approve:
        if state is not None:  # a proposal's loan is never deleted
            _check_rules(state, row["classification"])
        await session.execute(
            update(classification_proposals)
            .where(
                classification_proposals.c.loan_id == row["loan_id"], classification_proposals.c.status == "approved"
            )
            .values(status="superseded", note="superseded by " + proposal_id, updated_at=func.now())
        )
    await session.execute(
        update(classification_proposals)
        .where(classification_proposals.c.proposal_id == proposal_id)
        .values(status=outcome, decided_by=actor, decided_on=business_date, note=note, updated_at=func.now())
    )
    if approve and state is not None:
        await _apply(session, row, state, business_date, correlation_id)
    return (await store.get(session, proposal_id)) or row, True


async def _apply(
    session: AsyncSession, row: dict[str, Any], state: dict[str, Any], business_date: date, correlation_id: str | None
) -> None:
    """The judgement applies from today; the next close of day recomputes stage and ECL (the loan is dirty)."""
    loan_id = row["loan_id"]
    await session.execute(update(loan_features).where(loan_features.c.loan_id == loan_id).values(dirty=True))
    if state["category"] is None:
        return  # not classified yet: the first close of day classifies it with the judgement
    await session.execute(
        update(classifications)
        .where(classifications.c.loan_id == loan_id)
        .values(category=row["classification"], reason=JUDGEMENT, since=business_date, updated_at=func.now())
    )
    if state["category"] == row["classification"]:
        return
    data = ClassificationChangedV1(
        loan_id=loan_id,
        customer_id=row["customer_id"],
        from_classification=state["category"],
        to_classification=row["classification"],
        previous_ifrs9_stage=state["ifrs9_stage"],
        ifrs9_stage=state["ifrs9_stage"],
        ecl=state["ecl"],
        dpd=state["dpd"],
        reason=JUDGEMENT,
    )
    await events.publish(session, data, subject=loan_id, business_date=business_date, correlation_id=correlation_id)
