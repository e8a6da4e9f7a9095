"""External signals (issue 15 item 5): who a signal is about, and the rule features signals make.

A signal about a loan is about its borrower: it counts for every loan of that customer. A signal about
an industry (subject `industry`, subject_id the industry code of customer-upserted, kind
`industry_index` and only that) counts for every customer of that industry. Signals older than
`LOOKBACK_DAYS` count for nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

LOOKBACK_DAYS = 730
RECENT_DAYS = 90
INDEX_BASE_DAYS = 90
# The `details.status` values that end a court case or an enforcement listing.
CLOSED_STATUSES = frozenset({"closed", "satisfied", "dismissed", "withdrawn", "delisted", "lifted"})
FEATURES = (
    "court_judgments_open",
    "enforcement_listings_open",
    "bureau_inquiries_90d",
    "bureau_delinquency_dpd",
    "adverse_news_90d",
    "registration_changes_90d",
    "industry_index_change",
)


@dataclass(frozen=True)
class Signal:
    """What the features need of one stored signal; `case_id` and `status` come from its details."""

    signal_id: str
    kind: str
    observed_on: date
    value: Decimal | None = None
    case_id: str | None = None
    status: str | None = None


def fingerprint(payload: Mapping[str, Any]) -> str:
    """Fingerprint of a signal's content (its JSON form), to tell a retry from other content under one id."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def customer_of(*, subject: str, subject_id: str, loan_customers: Mapping[str, str]) -> str | None:
    """The customer a signal is about; None for an industry; KeyError for a loan this service does not know."""
    if subject == "industry":
        return None
    if subject == "loan":
        return loan_customers[subject_id]
    return subject_id


def _counted(signal: Signal, as_of: date, days: int) -> bool:
    return as_of - timedelta(days=days) < signal.observed_on <= as_of


def open_cases(signals: Iterable[Signal], *, kind: str, as_of: date) -> int:
    """Cases of `kind` (grouped by details.case_id, else one per signal) whose latest signal does not close them."""
    latest: dict[str, Signal] = {}
    for s in signals:
        if s.kind != kind or not _counted(s, as_of, LOOKBACK_DAYS):
            continue
        key = s.case_id or s.signal_id
        seen = latest.get(key)
        if seen is None or (s.observed_on, s.signal_id) > (seen.observed_on, seen.signal_id):
            latest[key] = s
    return sum(1 for s in latest.values() if (s.status or "").lower() not in CLOSED_STATUSES)


def recent_count(signals: Iterable[Signal], *, kind: str, as_of: date) -> float:
    """How many signals of `kind` were observed in the last 90 days."""
    return float(sum(1 for s in signals if s.kind == kind and _counted(s, as_of, RECENT_DAYS)))


def bureau_inquiries(signals: Iterable[Signal], *, as_of: date) -> float:
    """Credit-bureau inquiries in the last 90 days: each report counts its value (a number of inquiries), else 1."""
    recent = (s for s in signals if s.kind == "bureau_inquiries" and _counted(s, as_of, RECENT_DAYS))
    return float(sum(s.value if s.value is not None else 1 for s in recent))


def bureau_delinquency(signals: Iterable[Signal], *, as_of: date) -> float:
    """Days past due at other lenders in the latest bureau report of the last 90 days (1 when it gives none), else 0."""
    reports = [s for s in signals if s.kind == "bureau_delinquency" and _counted(s, as_of, RECENT_DAYS)]
    if not reports:
        return 0.0
    latest = max(reports, key=lambda s: (s.observed_on, s.signal_id))
    return float(latest.value) if latest.value is not None else 1.0


def index_change(points: Iterable[Signal], *, as_of: date) -> float | None:
    """Relative change of an industry index: its latest value against the newest one at least 90 days older."""
    known = sorted(
        (p for p in points if p.kind == "industry_index" and p.value is not None and _counted(p, as_of, LOOKBACK_DAYS)),
        key=lambda p: (p.observed_on, p.signal_id),
    )
    if not known:
        return None
    latest = known[-1]
    cutoff = latest.observed_on - timedelta(days=INDEX_BASE_DAYS)
    bases = [p for p in known if p.observed_on <= cutoff]
    if not bases or not bases[-1].value:
        return None
    assert latest.value is not None
    assert bases[-1].value is not None
    return float(latest.value / bases[-1].value - 1)


def signal_features(own: Iterable[Signal], industry: Iterable[Signal], *, as_of: date) -> dict[str, float | None]:
    """The rule features of one customer's signals and of its industry's index, as of `as_of`."""
    mine = list(own)
    return {
        "court_judgments_open": float(open_cases(mine, kind="court_judgment", as_of=as_of)),
        "enforcement_listings_open": float(open_cases(mine, kind="enforcement_listing", as_of=as_of)),
        "bureau_inquiries_90d": bureau_inquiries(mine, as_of=as_of),
        "bureau_delinquency_dpd": bureau_delinquency(mine, as_of=as_of),
        "adverse_news_90d": recent_count(mine, kind="adverse_news", as_of=as_of),
        "registration_changes_90d": recent_count(mine, kind="business_registration_change", as_of=as_of),
        "industry_index_change": index_change(industry, as_of=as_of),
    }


NO_SIGNALS: dict[str, float | None] = {name: (None if name == "industry_index_change" else 0.0) for name in FEATURES}
