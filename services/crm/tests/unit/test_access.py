"""The case scope of a caller: who reads which cases."""

from __future__ import annotations

from postloan_crm.domain.access import CaseScope, case_scope


def test_a_collector_sees_only_their_own_cases():
    assert case_scope(roles=["collector"], subject="a-1", team_members=["a-2"]) == CaseScope(
        assignees=frozenset({"a-1"}), unassigned=False
    )


def test_a_supervisor_sees_their_team_and_the_unassigned_cases():
    scope = case_scope(roles=["supervisor", "collector"], subject="sup", team_members=["a-1", "a-2"])
    assert scope == CaseScope(assignees=frozenset({"sup", "a-1", "a-2"}), unassigned=True)


def test_oversight_and_back_office_roles_are_not_narrowed():
    for role in ("admin", "compliance", "system", "analyst"):
        assert case_scope(roles=[role, "collector"], subject="x", team_members=[]) is None


def test_no_known_role_falls_back_to_the_narrowest_scope():
    assert case_scope(roles=[], subject="x", team_members=[]) == CaseScope(frozenset({"x"}), unassigned=False)
