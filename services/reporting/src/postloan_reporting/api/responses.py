"""Response bodies of the reporting API, so generated clients get types instead of `unknown` (issue 17).

Each model names the fields its report has always carried; amounts and ratios travel as decimal
strings (never floats) and dates as ISO dates. Built from the domain's dataclasses by attribute.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

_DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
_AS_TEXT = PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json")

# An amount in the currency's units, rounded half-up to cents.
Amount = Annotated[
    Decimal,
    _AS_TEXT,
    WithJsonSchema({"type": "string", "format": "decimal", "pattern": _DECIMAL_PATTERN, "examples": ["1250.00"]}),
]
# A ratio (0.25 = 25 %), a probability or an index, rounded half-up to 6 places; null when undefined.
Ratio = Annotated[
    Decimal,
    _AS_TEXT,
    WithJsonSchema({"type": "string", "format": "decimal", "pattern": _DECIMAL_PATTERN, "examples": ["0.181818"]}),
]
# A step of the collections funnel as [step, count], e.g. ["attempts", 12].
FunnelStep = Annotated[
    tuple[str, int],
    WithJsonSchema(
        {
            "type": "array",
            "prefixItems": [{"type": "string"}, {"type": "integer"}],
            "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            "minItems": 2,
            "maxItems": 2,
            "description": "[step, count]",
        }
    ),
]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


class FiltersOut(_Out):
    """The optional filters the report was computed with (null: all)."""

    product: str | None
    branch: str | None


class KpisOut(_Out):
    """Portfolio KPIs at the end of a business date; ratios are null when the gross balance is zero."""

    loans: int
    outstanding: Amount
    outstanding_total: Amount
    overdue_loans: int
    overdue_balance: Amount
    overdue_amount: Amount
    overdue_rate: Ratio | None
    par30_balance: Amount
    par30: Ratio | None
    par90_balance: Amount
    par90: Ratio | None
    npl_balance: Amount
    npl_ratio: Ratio | None


class SliceOut(_Out):
    """Loans, balance and share of one product, branch or classification (KPIs for products and branches)."""

    key: str
    loans: int
    balance: Amount
    share: Ratio | None
    kpis: KpisOut | None = None


class AgingRowOut(_Out):
    """Loans, balance and share of one delinquency bucket."""

    bucket: str = Field(description="The delinquency bucket (M0 … M6+)")
    key: str = Field(description="Deprecated: the same as `bucket`; removed in the next release", deprecated=True)
    loans: int
    balance: Amount
    share: Ratio | None
    kpis: KpisOut | None = Field(default=None, description="Always null for a bucket")


class HeadlineOut(_Out):
    """The headline figures shown beside the aging."""

    loans: int
    outstanding: Amount
    overdue_rate: Ratio | None
    par30: Ratio | None


class _AsOf(_Out):
    as_of: date = Field(description="The business date the report is as of (its end of day)")
    filters: FiltersOut


class PortfolioOut(_AsOf):
    """Portfolio KPIs, overall and by product and branch."""

    kpis: KpisOut
    by_product: list[SliceOut]
    by_branch: list[SliceOut]


class AgingOut(_AsOf):
    """Loans and balances by delinquency bucket."""

    buckets: list[AgingRowOut]
    kpis: HeadlineOut


class ClassificationOut(_AsOf):
    """The five-category classification (DPD floor applied) and the NPL ratio."""

    classes: list[SliceOut]
    npl_balance: Amount
    npl_ratio: Ratio | None


class CellOut(_Out):
    """Loans and balance moving from a row's bucket to `to` (a bucket or `closed`)."""

    to: str
    loans: int
    balance: Amount
    rate: Ratio | None


class MatrixRowOut(_Out):
    """One row of the migration matrix: where the balance of `from_bucket` went."""

    from_bucket: str
    loans: int
    balance: Amount
    cells: list[CellOut]
    cure_rate: Ratio | None
    roll_forward_rate: Ratio | None


class RollRatesOut(_Out):
    """The migration matrix from the end of `from` to the end of `to`."""

    from_: date = Field(alias="from")
    to: date
    filters: FiltersOut
    basis: str
    matrix: list[MatrixRowOut]


class PointOut(_Out):
    """A cohort's 30+ and 90+ balance and share of the disbursed amount at a month on book."""

    mob: int
    observed_on: date
    balance_30: Amount
    balance_90: Amount
    share_30: Ratio | None
    share_90: Ratio | None


class CurveOut(_Out):
    """The curves of one disbursement month."""

    vintage: date = Field(description="The first day of the disbursement month")
    disbursed: Amount
    loans: int
    points: list[PointOut]


class VintageOut(_AsOf):
    """30+ and 90+ curves per disbursement month."""

    curves: list[CurveOut]


class ActivityOut(_Out):
    """Collections activity counts of an agent, a queue or all."""

    key: str
    attempts: int
    connected: int
    right_party: int
    promises: int
    kept: int
    broken: int
    cases_worked: int
    cases_cured: int
    cases_closed: int
    collected: Amount


class PerformanceOut(_Out):
    """Rates derived from the activity of an agent, a queue or all."""

    key: str
    activity: ActivityOut
    contact_rate: Ratio | None
    right_party_contact_rate: Ratio | None
    ptp_rate: Ratio | None
    ptp_kept_rate: Ratio | None
    cure_rate: Ratio | None
    amount_collected_per_case: Amount | None


class CeiOut(_Out):
    """The collection effectiveness index (percent) and its terms."""

    opening_receivable: Amount
    billed: Amount
    closing_total_receivable: Amount
    closing_current_receivable: Amount
    cei: Ratio | None
    variant: str


class ReminderEffectOut(_Out):
    """Share of installments paid by their due date with and without a reminder before it."""

    reminded: int
    reminded_paid: int
    reminded_rate: Ratio | None
    not_reminded: int
    not_reminded_paid: int
    not_reminded_rate: Ratio | None
    uplift: Ratio | None


class CollectionsOut(_Out):
    """Contact, promise, cure and CEI figures for a period, overall, per agent and per queue."""

    start: date
    end: date
    overall: PerformanceOut
    by_agent: list[PerformanceOut]
    by_queue: list[PerformanceOut]
    funnel: list[FunnelStep]
    cei: CeiOut
    reminders: ReminderEffectOut
    filters: FiltersOut


class ScoreBandOut(_Out):
    """Loans whose latest score falls in a band of 100 points, and their mean PD."""

    band: str
    loans: int
    mean_pd: Ratio | None


class GradeOut(_Out):
    grade: str
    loans: int


class OpenAlertOut(_Out):
    rule_id: str
    severity: str
    open: int


class StageOut(_Out):
    """Loans, exposure (outstanding principal) and ECL of one IFRS 9 stage."""

    stage: int = Field(ge=1, le=3)
    loans: int
    exposure: Amount
    ecl: Amount
    exposure_share: Ratio | None
    coverage: Ratio | None = Field(description="ECL ÷ exposure of the stage")


class ProvisionsOut(_Out):
    """The IFRS 9 stage mix, the provision coverage (拨备覆盖率 = ECL of all loans ÷ NPL balance) and the NPL
    coverage by collateral (secured value after haircut, at most each loan's outstanding, ÷ NPL balance)."""

    stages: list[StageOut]
    ecl: Amount
    exposure: Amount
    npl_balance: Amount
    provision_coverage: Ratio | None = Field(description="null when the NPL balance is zero")
    npl_secured: Amount = Field(
        description="The NPL balance collateral covers: Σ over the NPL loans of min(secured value, outstanding)"
    )
    npl_collateral_coverage: Ratio | None = Field(
        description="NPL coverage by collateral = npl_secured ÷ NPL balance; null when the NPL balance is zero"
    )


class ReviewSliceOut(_Out):
    """Post-loan reviews of a branch (`all`: every branch) falling due in the period, and those overdue."""

    branch: str
    due: int = Field(description="Reviews falling due from `since` to `as_of`")
    completed: int = Field(description="Of those, completed by `as_of`")
    on_time: int = Field(description="Of those, completed on or before their due date")
    overdue: int = Field(description="Reviews open and past their due date at the end of `as_of`")
    completion_rate: Ratio | None
    on_time_rate: Ratio | None


class ReviewsOut(_Out):
    """Review completion and overdue reviews by branch."""

    since: date
    total: ReviewSliceOut
    by_branch: list[ReviewSliceOut]


class RiskOut(_AsOf):
    """Latest score distribution, alerts open, ECL and stage mix, and reviews at the end of `as_of`."""

    score_bands: list[ScoreBandOut]
    grades: list[GradeOut]
    open_alerts: list[OpenAlertOut]
    raised_last_30_days: int
    provisions: ProvisionsOut
    reviews: ReviewsOut
    note: str


def filters_out(product: str | None, branch: str | None) -> dict[str, Any]:
    """The `filters` member of every report."""
    return {"product": product, "branch": branch}
