"""The simulation's ground truth: who defaulted and who misused the proceeds, as CSV, and the best AUC."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from postloan_dev.simulator.book import DEFAULT_DPD, OBSERVATION_DAYS, LoanStatus, SimLoan


@dataclass(frozen=True)
class TruthRow:
    loan_id: str
    customer_id: str
    product: str
    branch: str
    archetype: str
    propensity: float
    will_default: bool
    onset: date | None
    default_90dpd: bool
    max_dpd: int
    # The first day the loan stood at 30 and at 90 days past due within the window (early warning's yardsticks).
    reached_30dpd_on: date | None
    reached_90dpd_on: date | None
    observed_from: date
    observed_to: date
    status: str
    purpose: str = "other"
    # How the borrower misused the proceeds (flows/Misuse), once its first misusing flow was sent; None: honest.
    misuse: str | None = None


TRUTH_COLUMNS = (
    "loan_id", "customer_id", "product", "branch", "archetype", "propensity", "will_default", "onset",
    "default_90dpd", "max_dpd", "reached_30dpd_on", "reached_90dpd_on", "observed_from", "observed_to", "status",
    "purpose", "misuse",
)  # fmt: skip


def truth_csv(rows: Sequence[TruthRow]) -> str:
    """The ground truth as CSV text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRUTH_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.loan_id,
                row.customer_id,
                row.product,
                row.branch,
                row.archetype,
                f"{row.propensity:.6f}",
                int(row.will_default),
                _iso(row.onset),
                int(row.default_90dpd),
                row.max_dpd,
                _iso(row.reached_30dpd_on),
                _iso(row.reached_90dpd_on),
                row.observed_from.isoformat(),
                row.observed_to.isoformat(),
                row.status,
                row.purpose,
                row.misuse or "",
            ]
        )
    return buffer.getvalue()


def read_truth_csv(text: str) -> list[TruthRow]:
    """The rows truth_csv wrote."""

    def day(value: str) -> date | None:
        return date.fromisoformat(value) if value else None

    return [
        TruthRow(
            loan_id=r["loan_id"],
            customer_id=r["customer_id"],
            product=r["product"],
            branch=r["branch"],
            archetype=r["archetype"],
            propensity=float(r["propensity"]),
            will_default=r["will_default"] == "1",
            onset=day(r["onset"]),
            default_90dpd=r["default_90dpd"] == "1",
            max_dpd=int(r["max_dpd"]),
            reached_30dpd_on=day(r["reached_30dpd_on"]),
            reached_90dpd_on=day(r["reached_90dpd_on"]),
            observed_from=date.fromisoformat(r["observed_from"]),
            observed_to=date.fromisoformat(r["observed_to"]),
            status=r["status"],
            purpose=r["purpose"],
            misuse=r["misuse"] or None,
        )
        for r in csv.DictReader(io.StringIO(text))
    ]


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """Area under the ROC curve (ties count half); None when only one class is present."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    ranked = sorted(zip(scores, labels, strict=True), key=lambda pair: pair[0])
    rank_sum = 0.0
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2
        rank_sum += average_rank * sum(1 for _, label in ranked[i:j] if label)
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def best_auc(rows: Sequence[TruthRow]) -> float | None:
    """The AUC of the true propensity against the realised 90+ DPD flag: the ceiling for any model."""
    return auc([r.propensity for r in rows], [r.default_90dpd for r in rows])


def truth_rows(loans: Sequence[SimLoan], *, last_played: date) -> list[TruthRow]:
    """Per booked loan: the true propensity and whether it reached 90+ DPD within its observation window."""
    rows: list[TruthRow] = []
    for loan in loans:
        if loan.status is LoanStatus.PENDING:
            continue
        borrower = loan.borrower
        observed_from = loan.book_day
        observed_to = min(
            loan.ended_on if loan.status is LoanStatus.WRITTEN_OFF and loan.ended_on else last_played,
            observed_from + timedelta(days=OBSERVATION_DAYS - 1),
        )
        position = loan.position(max(last_played, observed_from))
        worst = position.max_dpd(observed_from, observed_to)
        rows.append(
            TruthRow(
                loan_id=loan.loan_id,
                customer_id=borrower.customer_id,
                product=loan.product.code,
                branch=loan.branch,
                archetype=borrower.archetype.name,
                propensity=borrower.propensity,
                will_default=borrower.will_default,
                onset=borrower.onset,
                default_90dpd=worst >= DEFAULT_DPD,
                max_dpd=worst,
                reached_30dpd_on=position.first_day_at(30, observed_from, observed_to),
                reached_90dpd_on=position.first_day_at(DEFAULT_DPD, observed_from, observed_to),
                observed_from=observed_from,
                observed_to=observed_to,
                status=loan.status.value,
                purpose=loan.purpose,
                misuse=loan.misuse.value if loan.misuse and loan.misuse_on and loan.misuse_on <= last_played else None,
            )
        )
    return rows
