"""Who may read what: the roles of each kind of crm route and the case scope of a caller."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Everyone who works with customers; analysts see them masked (no pii:read) for reporting.
# Role names as in postloan_common.web.auth.Role, kept as strings so the domain imports no web code.
READERS = ("system", "collector", "relationship_manager", "supervisor", "compliance", "analyst", "admin")
# An outside collection agency reads only the cases placed with it (its token's subject is its id).
AGENCY = "agency"
CASE_READERS = (*READERS, AGENCY)
# The contact policy is a compliance control (docs/domain.md), not an operational setting.
POLICY_OWNERS = ("compliance", "admin")
# Roles whose reads are not narrowed to cases: back-office services, oversight and reporting.
UNSCOPED = frozenset({"system", "compliance", "analyst", "admin"})


@dataclass(frozen=True, slots=True)
class CaseScope:
    """The cases a caller may see: those of `assignees`, unassigned ones if `unassigned`, those placed with `agency`."""

    assignees: frozenset[str]
    unassigned: bool
    agency: str | None = None


def case_scope(*, roles: Iterable[str], subject: str, team_members: Iterable[str]) -> CaseScope | None:
    """The caller's case scope, or None when they read every case.

    A collector sees the cases assigned to them; a supervisor those of their team's agents and the
    unassigned ones, which they are the ones to hand out; an agency only the cases placed with it.
    """
    held = frozenset(roles)
    if held & UNSCOPED:
        return None
    if AGENCY in held:
        return CaseScope(assignees=frozenset(), unassigned=False, agency=subject)
    if "supervisor" in held:
        return CaseScope(assignees=frozenset(team_members) | {subject}, unassigned=True)
    return CaseScope(assignees=frozenset({subject}), unassigned=False)


def may_read_worklist(scope: CaseScope | None, *, subject: str, agent: str) -> bool:
    """Anyone may read their own worklist, a supervisor their team's agents', an unscoped role anyone's."""
    if agent == subject or scope is None:
        return True
    return scope.unassigned and agent in scope.assignees
