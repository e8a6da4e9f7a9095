"""Review rules: the policy's terms, due dates, the routine pace, overdue, who may complete."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from postloan_risk_alert.domain.reviews import (
    Finding,
    ReviewPolicy,
    ReviewStatus,
    ReviewTerms,
    TermsOverride,
    add_business_days,
    first_review_due,
    may_complete,
    routine_interval,
    status_on,
    terms_for,
    triggered_due,
    worst_finding,
)


def test_default_terms_by_segment_and_overrides_by_product() -> None:
    policy = ReviewPolicy(
        overrides=[
            TermsOverride(product="sme-1", first_after_days=10, normal_every_days=60),
            TermsOverride(product="sme-1", segment="retail", first_after_days=20, normal_every_days=120),
        ]
    )
    assert terms_for(policy, product="consumer", segment="retail").first_after_days == 30
    assert terms_for(policy, product="corp", segment="corporate").first_after_days == 15
    assert terms_for(policy, product="sme-1", segment="sme").normal_every_days == 60
    assert terms_for(policy, product="sme-1", segment="retail").normal_every_days == 120


def test_first_review_after_disbursement() -> None:
    terms = ReviewPolicy().non_retail
    assert first_review_due(disbursed_on=date(2026, 1, 1), terms=terms) == date(2026, 1, 16)


def test_routine_pace_by_classification_and_exposure() -> None:
    retail = ReviewPolicy().retail
    assert routine_interval(classification="normal", outstanding=Decimal(1), terms=retail) == 180
    assert routine_interval(classification="special_mention", outstanding=Decimal(1), terms=retail) == 30
    assert routine_interval(classification="doubtful", outstanding=Decimal(1), terms=retail) == 30
    big = ReviewTerms(
        first_after_days=15, normal_every_days=90, large_exposure=Decimal("1000000"), large_exposure_every_days=45
    )
    assert routine_interval(classification="normal", outstanding=Decimal("1000000"), terms=big) == 45
    assert routine_interval(classification="normal", outstanding=Decimal("999999.99"), terms=big) == 90
    assert routine_interval(classification="loss", outstanding=Decimal("2000000"), terms=big) == 30


def test_triggered_reviews_fall_due_in_business_days() -> None:
    assert add_business_days(date(2026, 5, 15), 5) == date(2026, 5, 22)  # Friday → next Friday
    assert add_business_days(date(2026, 5, 16), 1) == date(2026, 5, 18)  # Saturday → Monday
    assert triggered_due(business_date=date(2026, 5, 11), policy=ReviewPolicy()) == date(2026, 5, 18)


def test_due_becomes_overdue_only_after_its_date() -> None:
    assert status_on(status="due", due_on=date(2026, 5, 1), business_date=date(2026, 5, 1)) is ReviewStatus.DUE
    assert status_on(status="due", due_on=date(2026, 5, 1), business_date=date(2026, 5, 2)) is ReviewStatus.OVERDUE
    assert status_on(status="done", due_on=date(2026, 5, 1), business_date=date(2026, 6, 1)) is ReviewStatus.DONE


def test_only_the_assignee_a_supervisor_or_a_risk_officer_completes() -> None:
    rm = frozenset({"relationship_manager"})
    assert may_complete(actor="rm-1", assignee="rm-1", roles=rm)
    assert not may_complete(actor="rm-2", assignee="rm-1", roles=rm)
    assert not may_complete(actor="rm-2", assignee=None, roles=rm)
    assert may_complete(actor="sup", assignee="rm-1", roles=frozenset({"supervisor"}))
    assert may_complete(actor="ro", assignee=None, roles=frozenset({"risk_officer"}))


def test_worst_finding() -> None:
    assert worst_finding({"a": Finding.OK, "b": Finding.BREACH, "c": Finding.CONCERN}) is Finding.BREACH
    assert worst_finding({"a": Finding.OK}) is Finding.OK


def test_policy_rejects_unknown_fields_and_bad_days() -> None:
    with pytest.raises(ValidationError):
        ReviewPolicy.model_validate({"retail": {"first_after_days": -1, "normal_every_days": 180}})
    with pytest.raises(ValidationError):
        ReviewPolicy.model_validate({"weekly": True})
