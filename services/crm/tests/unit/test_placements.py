"""Placing recovery cases with agencies: which cases may go, and what an agency may act on."""

from __future__ import annotations

import pytest

from postloan_crm.domain.access import CaseScope, case_scope
from postloan_crm.domain.placements import agency_may_act, placement_refusal, recall_changes

OPEN_RECOVERY = {"case_status": "open", "case_queue": "recovery", "placed_with": None, "agency_active": True}


def test_an_open_recovery_case_goes_to_an_active_agency():
    assert placement_refusal(**OPEN_RECOVERY) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"case_status": "closed"}, "case_closed"),
        ({"case_queue": "field"}, "not_in_recovery_queue"),
        ({"case_queue": "phone"}, "not_in_recovery_queue"),
        ({"placed_with": "agency-b"}, "already_placed"),
        ({"agency_active": False}, "agency_inactive"),
    ],
)
def test_every_other_placement_is_refused_naming_why(change, reason):
    assert placement_refusal(**(OPEN_RECOVERY | change)) == reason


def test_a_closed_case_is_refused_for_that_before_anything_else():
    assert placement_refusal(case_status="closed", case_queue="phone", placed_with="x", agency_active=False) == (
        "case_closed"
    )


def test_only_an_active_placement_is_changed_by_a_recall():
    assert recall_changes("active") is True
    assert recall_changes("recalled") is False


def test_an_agency_acts_only_on_a_case_placed_with_it():
    assert agency_may_act(agency_id="agency-a", placed_with="agency-a") is True
    assert agency_may_act(agency_id="agency-a", placed_with="agency-b") is False
    assert agency_may_act(agency_id="agency-a", placed_with=None) is False


def test_an_agency_reads_only_the_cases_placed_with_it():
    assert case_scope(roles=["agency"], subject="agency-a", team_members=["a-1"]) == CaseScope(
        assignees=frozenset(), unassigned=False, agency="agency-a"
    )
    assert case_scope(roles=["agency", "collector"], subject="agency-a", team_members=[]) == CaseScope(
        frozenset(), unassigned=False, agency="agency-a"
    )
