"""Classification by judgement: never better than the rules, four eyes, holds until the rules worsen past it."""

from __future__ import annotations

import numpy as np

from postloan_risk_alert.domain import classification as cls
from postloan_risk_alert.domain.judgement import apply_judgement, may_decide, refusing_rule


def test_a_proposal_better_than_the_rules_is_refused_naming_the_rule() -> None:
    assert refusing_rule(proposed="normal", dpd=10, rules_category="special_mention", rules_reason="dpd_floor") == (
        "dpd_floor"
    )
    assert refusing_rule(proposed="special_mention", dpd=95, rules_category="substandard", rules_reason="dpd_floor")
    assert (
        refusing_rule(
            proposed="normal", dpd=0, rules_category="special_mention", rules_reason="restructured_observation"
        )
        == "restructured_observation"
    )
    assert (
        refusing_rule(proposed="special_mention", dpd=0, rules_category="substandard", rules_reason="npl_not_upgraded")
        == "npl_not_upgraded"
    )
    assert refusing_rule(proposed="doubtful", dpd=0, rules_category="normal", rules_reason="performing") is None
    assert (
        refusing_rule(proposed="special_mention", dpd=5, rules_category="special_mention", rules_reason="dpd_floor")
        is None
    )


def test_four_eyes() -> None:
    assert not may_decide(actor="ro-1", proposer="ro-1")
    assert may_decide(actor="ro-2", proposer="ro-1")


def test_a_judgement_holds_until_the_rules_worsen_past_it() -> None:
    n = cls.NONE
    category = np.asarray([0, 2, 3, 1], dtype=np.int64)
    reason = np.asarray([cls.PERFORMING, cls.DPD_FLOOR, cls.DPD_FLOOR, cls.DPD_FLOOR], dtype=np.int64)
    judged = np.asarray([2, 2, 2, n], dtype=np.int64)
    out, why, lapsed = apply_judgement(category, reason, judged)
    assert out.tolist() == [2, 2, 3, 1]
    assert why.tolist() == [cls.JUDGEMENT_REASON, cls.JUDGEMENT_REASON, cls.DPD_FLOOR, cls.DPD_FLOOR]
    assert lapsed.tolist() == [False, False, True, False]
    assert cls.REASONS[cls.JUDGEMENT_REASON] == "judgement"
