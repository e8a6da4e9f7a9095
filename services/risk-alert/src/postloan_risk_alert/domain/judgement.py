"""Classification by judgement (人工认定): what a proposal may be, who may decide it, how it holds daily."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from postloan_risk_alert.domain import classification as cls

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
JUDGEMENT = "judgement"


def refusing_rule(*, proposed: str, dpd: int, rules_category: str, rules_reason: str) -> str | None:
    """The rule a proposal would beat (None when allowed): it may not be better than the DPD floor or the rules.

    `rules_category` / `rules_reason` are what the rules give today (restructured observation, NPL not
    upgraded, debtor contagion); judgement can only worsen them.
    """
    wanted = cls.CATEGORIES.index(proposed)
    floor = int(cls.dpd_floor(np.asarray([dpd], dtype=np.int64))[0])
    if wanted < floor:
        return cls.REASONS[cls.DPD_FLOOR]
    if wanted < cls.CATEGORIES.index(rules_category):
        return rules_reason if rules_reason != cls.REASONS[cls.PERFORMING] else cls.REASONS[cls.DPD_FLOOR]
    return None


def may_decide(*, actor: str, proposer: str) -> bool:
    """Four eyes: the proposer never approves or rejects their own proposal."""
    return actor != proposer


def apply_judgement(category: IntArray, reason: IntArray, judged: IntArray) -> tuple[IntArray, IntArray, BoolArray]:
    """The daily classification with approved judgements (`judged`, NONE where none).

    A judgement holds while the rules' category is not worse than it; the returned mask marks the
    judgements the rules worsened past (they lapse).
    """
    has = judged != cls.NONE
    holds = has & (category <= judged)
    return (
        np.where(holds, judged, category),
        np.where(holds, cls.JUDGEMENT_REASON, reason),
        has & ~holds,
    )
