"""Five-category loan classification (《商业银行金融资产风险分类办法》 2023), vectorised over many loans.

Categories are small ints (0 normal … 4 loss) so a whole book classifies with numpy; dates are
proleptic ordinals (`date.toordinal()`), `NONE` (-1) where absent. `classify_one` is the same code
for one loan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

NORMAL, SPECIAL_MENTION, SUBSTANDARD, DOUBTFUL, LOSS = range(5)
CATEGORIES: tuple[str, ...] = ("normal", "special_mention", "substandard", "doubtful", "loss")
CATEGORY_OF: dict[str, int] = {name: index for index, name in enumerate(CATEGORIES)}
NONE = -1
# A loan not yet classified is presumed performing: normal, IFRS 9 stage 1, until its first close of day.
PRESUMED_CATEGORY = CATEGORIES[NORMAL]
PRESUMED_STAGE = 1
# Non-performing: substandard and worse (docs/domain.md). The one definition in risk-alert; SQL uses npl_sql().
NPL_CATEGORIES: tuple[str, ...] = CATEGORIES[SUBSTANDARD:]


def npl_sql(column: str) -> str:
    """A SQL predicate: `column` (a category name) is non-performing."""
    return f"{column} IN ({', '.join(repr(name) for name in NPL_CATEGORIES)})"


# Why a loan holds its category (the `reason` of classification-changed).
REASONS: tuple[str, ...] = (
    "performing",
    "dpd_floor",
    "restructured_observation",
    "npl_not_upgraded",
    "debtor_npl_contagion",
    "judgement",  # an approved classification proposal (domain/judgement.py)
)
PERFORMING, DPD_FLOOR, OBSERVATION, NPL_NOT_UPGRADED, CONTAGION, JUDGEMENT_REASON = range(6)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ClassificationPolicy:
    """The regulatory thresholds; the values in docs/domain.md are the defaults."""

    special_mention_dpd: int = 0  # any amount overdue
    substandard_dpd: int = 90
    doubtful_dpd: int = 270
    loss_dpd: int = 360
    observation_min_periods: int = 2
    observation_min_days: int = 365
    upgrade_min_periods: int = 2
    upgrade_min_days: int = 183  # six months
    debtor_npl_share: float = 0.10


@dataclass(frozen=True)
class LoanBook:
    """Column arrays of the inputs of classification, one entry per loan."""

    dpd: IntArray
    period_days: IntArray
    restructured: BoolArray
    observation_start: IntArray  # first repayment date after restructuring (restarted by a miss)
    category_at_restructure: IntArray
    previous_category: IntArray  # the loan's own previous category, NONE when first classified
    last_cured_on: IntArray

    def __len__(self) -> int:
        return len(self.dpd)


@dataclass(frozen=True)
class Classified:
    """Column arrays of the result."""

    category: IntArray
    reason: IntArray
    in_observation: BoolArray
    observation_end: IntArray


def dpd_floor(dpd: IntArray, policy: ClassificationPolicy = ClassificationPolicy()) -> IntArray:
    """The category DPD alone sets: >0 special mention, >90 substandard, >270 doubtful, >360 loss."""
    floor = np.zeros(len(dpd), dtype=np.int64)
    floor[dpd > policy.special_mention_dpd] = SPECIAL_MENTION
    floor[dpd > policy.substandard_dpd] = SUBSTANDARD
    floor[dpd > policy.doubtful_dpd] = DOUBTFUL
    floor[dpd > policy.loss_dpd] = LOSS
    return floor


def classify(book: LoanBook, *, as_of: int, policy: ClassificationPolicy = ClassificationPolicy()) -> Classified:
    """Each loan's own category (before the debtor rule) as of the ordinal date `as_of`."""
    floor = dpd_floor(book.dpd, policy)

    # Observation: at least two repayment periods and at least a year from its start.
    span = np.maximum(policy.observation_min_periods * book.period_days, policy.observation_min_days)
    observed = book.restructured & (book.observation_start != NONE)
    observation_end = np.where(observed, book.observation_start + span, NONE)
    # Between restructuring and the first repayment date the loan is also under observation.
    in_observation = book.restructured & ((book.observation_start == NONE) | (as_of < observation_end))
    observation_floor = np.where(in_observation, SPECIAL_MENTION, NORMAL)
    # An NPL at restructuring is not upgraded while it is observed.
    observation_floor = np.where(
        in_observation & (book.category_at_restructure >= SUBSTANDARD),
        np.maximum(observation_floor, book.category_at_restructure),
        observation_floor,
    )

    # An NPL returns to performing only once arrears are repaid and the longer of
    # two periods or six months has been paid on time since.
    probation = np.maximum(policy.upgrade_min_periods * book.period_days, policy.upgrade_min_days)
    upgradable = (book.dpd == 0) & (book.last_cured_on != NONE) & (as_of - book.last_cured_on >= probation)
    was_npl = book.previous_category >= SUBSTANDARD
    npl_floor = np.where(was_npl & ~upgradable, book.previous_category, NORMAL)

    category = np.maximum(np.maximum(floor, observation_floor), npl_floor)
    reason = np.full(len(book), PERFORMING, dtype=np.int64)
    reason[(observation_floor == category) & (category > NORMAL)] = OBSERVATION
    reason[(npl_floor == category) & (category > NORMAL) & (npl_floor > observation_floor)] = NPL_NOT_UPGRADED
    reason[(floor == category) & (category > NORMAL)] = DPD_FLOOR
    return Classified(category, reason, in_observation, observation_end)


def debtor_contagion(
    category: IntArray,
    reason: IntArray,
    *,
    customer: npt.NDArray[np.int64],
    non_retail: BoolArray,
    balance: npt.NDArray[np.float64],
    policy: ClassificationPolicy = ClassificationPolicy(),
) -> tuple[IntArray, IntArray, BoolArray]:
    """Non-retail 10% rule: when > 10% of a debtor's claims (by balance) are NPL, all of them are.

    `customer` holds dense debtor codes (0..n-1); returns the categories, reasons and the
    per-loan flag of debtors over the threshold.
    """
    if len(category) == 0:
        return category, reason, np.zeros(0, dtype=np.bool_)
    debtors = int(customer.max()) + 1
    npl = category >= SUBSTANDARD
    weights = np.where(non_retail, balance, 0.0)
    total = np.bincount(customer, weights=weights, minlength=debtors)
    npl_total = np.bincount(customer, weights=np.where(npl, weights, 0.0), minlength=debtors)
    share = np.divide(npl_total, total, out=np.zeros(debtors), where=total > 0)
    tainted = non_retail & (share[customer] > policy.debtor_npl_share)
    lifted = tainted & (category < SUBSTANDARD)
    return (
        np.where(lifted, SUBSTANDARD, category),
        np.where(lifted, CONTAGION, reason),
        tainted,
    )


@dataclass(frozen=True)
class LoanState:
    """One loan's inputs, for callers that classify a single loan."""

    dpd: int
    period_days: int = 30
    restructured: bool = False
    observation_start: date | None = None
    category_at_restructure: str | None = None
    previous_category: str | None = None
    last_cured_on: date | None = None


@dataclass(frozen=True)
class Result:
    category: str
    reason: str
    in_observation: bool
    observation_end: date | None


def _ordinal(day: date | None) -> int:
    return day.toordinal() if day is not None else NONE


def book_of(loans: Sequence[LoanState]) -> LoanBook:
    """Column arrays of `loans`."""

    def ints(values: Sequence[int]) -> IntArray:
        return np.asarray(values, dtype=np.int64)

    return LoanBook(
        dpd=ints([loan.dpd for loan in loans]),
        period_days=ints([loan.period_days for loan in loans]),
        restructured=np.asarray([loan.restructured for loan in loans], dtype=np.bool_),
        observation_start=ints([_ordinal(loan.observation_start) for loan in loans]),
        category_at_restructure=ints(
            [CATEGORY_OF[c] if c else NONE for c in (loan.category_at_restructure for loan in loans)]
        ),
        previous_category=ints([CATEGORY_OF[c] if c else NONE for c in (loan.previous_category for loan in loans)]),
        last_cured_on=ints([_ordinal(loan.last_cured_on) for loan in loans]),
    )


def results_of(classified: Classified) -> list[Result]:
    """Readable results of a classification run."""
    return [
        Result(
            category=CATEGORIES[int(c)],
            reason=REASONS[int(r)],
            in_observation=bool(o),
            observation_end=date.fromordinal(int(e)) if e != NONE else None,
        )
        for c, r, o, e in zip(
            classified.category, classified.reason, classified.in_observation, classified.observation_end, strict=True
        )
    ]


def classify_one(loan: LoanState, *, as_of: date, policy: ClassificationPolicy = ClassificationPolicy()) -> Result:
    """Classify a single loan as of `as_of` (before the debtor rule)."""
    return results_of(classify(book_of([loan]), as_of=as_of.toordinal(), policy=policy))[0]


@dataclass(frozen=True)
class Claim:
    """One claim on a debtor, for the 10% rule."""

    category: str
    balance: float
    non_retail: bool = True


def apply_debtor_rule(claims: Sequence[Claim], policy: ClassificationPolicy = ClassificationPolicy()) -> list[str]:
    """The categories of one debtor's claims after the non-retail 10% rule."""
    category, _reason, _ = debtor_contagion(
        np.asarray([CATEGORY_OF[c.category] for c in claims], dtype=np.int64),
        np.zeros(len(claims), dtype=np.int64),
        customer=np.zeros(len(claims), dtype=np.int64),
        non_retail=np.asarray([c.non_retail for c in claims], dtype=np.bool_),
        balance=np.asarray([c.balance for c in claims], dtype=np.float64),
        policy=policy,
    )
    return [CATEGORIES[int(c)] for c in category]


def observation_restart(missed_due: date, period_days: int) -> date:
    """A missed payment restarts observation from the next repayment date."""
    return missed_due + timedelta(days=period_days)
