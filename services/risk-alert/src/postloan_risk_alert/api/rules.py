"""Early-warning rules: validated conditions of the rule language (`/v1/rules`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from postloan_common.audit import changes
from postloan_common.web import CorrelationId, DbSession, ProblemError
from postloan_common.web.openapi import problems
from postloan_risk_alert.api.deps import OfficerPrincipal, Reader
from postloan_risk_alert.api.schemas import (
    RuleIn,
    RuleOut,
    RulesOut,
    RuleUpdate,
)
from postloan_risk_alert.api.writes import Audited, audit_write
from postloan_risk_alert.domain import rules as rule_language
from postloan_risk_alert.store.tables import (
    rules,
)

router = APIRouter(prefix="/v1", tags=["rules"])


def _invalid_rule(located: list[dict[str, str]]) -> ProblemError:
    summary = "; ".join(f"{e['path']}: {e['message']}" for e in located[:5])
    return ProblemError(
        422,
        "Invalid rule",
        f"The rule condition is invalid: {summary}",
        type_="/problems/invalid-rule",
        extra={"errors": located},
    )


def _located(errors: list[rule_language.RuleError], field: str) -> list[dict[str, str]]:
    # Paths are given from the request body's root, where the condition sits under `field`.
    return [
        {"path": e.path if e.path == "$.subject_type" else e.path.replace("$", f"$.{field}", 1), "message": e.message}
        for e in errors
    ]


def _check_rule(body: RuleUpdate) -> None:
    located = _located(rule_language.validate(body.condition, subject_type=body.subject_type), "condition")
    if body.resolve_condition is not None:
        errors = rule_language.validate(body.resolve_condition, subject_type=body.subject_type)
        located += [e for e in _located(errors, "resolve_condition") if e["path"] != "$.subject_type"]
    if located:
        raise _invalid_rule(located)


@router.get(
    "/rules",
    response_model=RulesOut,
    dependencies=[Reader],
    operation_id="listRules",
    responses=problems(401, 403),
)
async def list_rules(session: DbSession) -> dict[str, Any]:
    """Every early-warning rule."""
    rows = await session.execute(select(rules).order_by(rules.c.rule_id))
    return {"items": [dict(r._mapping) for r in rows]}


@router.get(
    "/rules/{rule_id}",
    response_model=RuleOut,
    dependencies=[Reader],
    operation_id="getRule",
    responses=problems(401, 403, 404),
)
async def get_rule(rule_id: str, session: DbSession) -> dict[str, Any]:
    """One rule."""
    row = (await session.execute(select(rules).where(rules.c.rule_id == rule_id))).first()
    if row is None:
        raise ProblemError(404, "Rule not found", f"rule {rule_id} does not exist")
    return dict(row._mapping)


@router.post(
    "/rules",
    response_model=RuleOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="createRule",
    responses=problems(401, 403, 409, 422),
)
async def create_rule(
    body: RuleIn, session: DbSession, principal: OfficerPrincipal, correlation_id: CorrelationId
) -> dict[str, Any]:
    """Create a rule; a condition that does not validate is a 422 naming the JSON path of each error."""
    _check_rule(body)
    async with session.begin():
        created = (
            await session.execute(
                insert(rules)
                .values(**body.model_dump(), updated_by=principal.subject)
                .on_conflict_do_nothing()
                .returning(*rules.c)
            )
        ).first()
        if created is None:
            raise ProblemError(409, "Rule exists", f"rule {body.rule_id} already exists; PUT to change it")
        audited = Audited("rule.create", body.rule_id, {"condition": body.condition})
        await audit_write(session, principal, correlation_id, audited)
    return dict(created._mapping)


@router.put(
    "/rules/{rule_id}",
    response_model=RuleOut,
    operation_id="updateRule",
    responses=problems(401, 403, 404, 422),
)
async def update_rule(
    rule_id: str,
    body: RuleUpdate,
    session: DbSession,
    principal: OfficerPrincipal,
    correlation_id: CorrelationId,
) -> dict[str, Any]:
    """Replace a rule's definition (its version goes up)."""
    _check_rule(body)
    async with session.begin():
        before = (await session.execute(select(rules).where(rules.c.rule_id == rule_id).with_for_update())).first()
        updated = (
            await session.execute(
                update(rules)
                .where(rules.c.rule_id == rule_id)
                .values(
                    **body.model_dump(),
                    updated_by=principal.subject,
                    version=rules.c.version + 1,
                    updated_at=datetime.now().astimezone(),
                )
                .returning(*rules.c)
            )
        ).first()
        if updated is None:
            raise ProblemError(404, "Rule not found", f"rule {rule_id} does not exist")
        audited = Audited(
            "rule.update",
            rule_id,
            {"condition": body.condition, "enabled": body.enabled, "changes": _rule_changes(before, updated)},
        )
        await audit_write(session, principal, correlation_id, audited)
    return dict(updated._mapping)


def _rule_changes(before: Any, after: Any) -> dict[str, dict[str, Any]]:
    """The definition fields and version an update changed (who and when are in the audit row itself)."""
    kept = [c for c in after._mapping if c not in ("updated_by", "updated_at")]
    return changes({c: before._mapping[c] for c in kept}, {c: after._mapping[c] for c in kept})
