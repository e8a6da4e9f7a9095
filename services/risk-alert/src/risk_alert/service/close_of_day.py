"""Close of day: refresh time-dependent features, re-score, re-classify, evaluate rules, publish changes.

Set-based throughout: feature rows are read in chunks with asyncpg, scored and classified with
numpy, and written back with COPY into temporary tables merged by one statement each. Events go to
the outbox in the same transaction.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.catalog import RISK_SCORES
from postloan_common.logging import get_logger
from postloan_common.messaging.envelope import new_event_id
from risk_alert.domain import classification as cls
from risk_alert.domain import ifrs9, rules
from risk_alert.domain.alerts import within_window
from risk_alert.domain.scoring import Scorecard, columns_matrix, score_matrix
from risk_alert.service import models
from risk_alert.service.raw import copy_rows, raw_connection
from risk_alert.settings import Settings

log = get_logger(__name__)

SOURCE = "risk-alert"
NPL_NAMES = ("substandard", "doubtful", "loss")
FloatArray = npt.NDArray[np.float64]

# A loan is re-scored when its features changed, when time moves its features (overdue, recently
# cured, restructured), when its debtor is non-retail (10% rule), or when the model changed.
WORKING_SET = """
    f.status = 'active' AND (
        $4::boolean OR f.dirty OR f.overdue_since IS NOT NULL OR f.last_cured_on >= $1::date - 400
        OR f.restructured OR f.segment <> 'retail' OR s.model_version IS DISTINCT FROM $5
        OR c.category IN ('substandard', 'doubtful', 'loss')
    )
"""

FETCH = f"""
SELECT f.loan_id, f.customer_id, f.product, f.segment, f.collateral,
       (f.outstanding * 100)::bigint AS outstanding_cents, f.overdue::float8 AS overdue,
       f.outstanding::float8 AS outstanding, f.annual_rate::float8 AS annual_rate,
       (f.maturity_date - $1::date) AS days_to_maturity,
       CASE WHEN f.overdue_since IS NULL THEN 0 ELSE greatest($1::date - f.overdue_since, 0) END AS dpd,
       f.episode_started_on IS NOT NULL AS open_episode, f.episode_max, f.dirty,
       f.dpd AS stored_dpd, f.max_dpd_3m AS s3, f.max_dpd_6m AS s6, f.max_dpd_12m AS s12, f.episodes_30 AS s30,
       f.episodes_60 AS s60, f.episodes_90 AS s90, f.months_since_delinquency AS smonths,
       ep.m3, ep.m6, ep.m12, ep.c30, ep.c60, ep.c90,
       ($1::date - f.last_cured_on) AS days_since_cure,
       f.amount_due::float8 AS amount_due, f.amount_paid::float8 AS amount_paid,
       f.payments_count, f.partial_payments, f.missed_count, f.consecutive_misses,
       f.broken_promises, f.promises_kept, f.contacts, f.contacts_negative,
       f.restructured, (f.observation_start - $1::date) AS observation_offset,
       f.category_at_restructure, f.period_days,
       cf.debt_ratio::float8 AS debt_ratio, cf.current_ratio::float8 AS current_ratio,
       cf.interest_coverage::float8 AS interest_coverage, cf.revenue_change::float8 AS revenue_change,
       s.pd::float8 AS prev_pd, s.score AS prev_score, s.published_score, s.published_grade,
       s.pd_origination::float8 AS pd_origination, s.model_version,
       c.category AS prev_category, c.own_category AS prev_own, c.ifrs9_stage AS prev_stage,
       (c.ecl * 100)::bigint AS prev_ecl_cents, ($1::date - c.since) AS days_since_class, c.in_observation AS prev_obs
FROM loan_features f
LEFT JOIN LATERAL (
    SELECT coalesce(max((e->>'m')::int) FILTER (WHERE (e->>'e')::date > $1::date - 91), 0) AS m3,
           coalesce(max((e->>'m')::int) FILTER (WHERE (e->>'e')::date > $1::date - 182), 0) AS m6,
           coalesce(max((e->>'m')::int) FILTER (WHERE (e->>'e')::date > $1::date - 365), 0) AS m12,
           count(*) FILTER (WHERE (e->>'m')::int > 30) AS c30,
           count(*) FILTER (WHERE (e->>'m')::int > 60) AS c60,
           count(*) FILTER (WHERE (e->>'m')::int > 90) AS c90
    FROM jsonb_array_elements(f.dpd_episodes) e
) ep ON true
LEFT JOIN customer_features cf ON cf.customer_id = f.customer_id
LEFT JOIN loan_scores s ON s.loan_id = f.loan_id
LEFT JOIN classifications c ON c.loan_id = f.loan_id
WHERE {WORKING_SET} AND f.loan_id > $2 AND (f.segment <> 'retail') = $6
ORDER BY f.loan_id
LIMIT $3
"""


@dataclass
class RunStats:
    business_date: date
    loans: int = 0
    scores_written: int = 0
    classifications_written: int = 0
    score_events: int = 0
    classification_events: int = 0
    alerts_raised: int = 0
    alerts_resolved: int = 0
    customers: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    def add_phase(self, name: str, started: float) -> None:
        self.phases[name] = round(self.phases.get(name, 0.0) + time.perf_counter() - started, 4)

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items()}


@dataclass
class AlertBook:
    """Open alerts and the last raising date per (rule, subject), for one subject type."""

    open: dict[tuple[str, str], str] = field(default_factory=dict)
    last_raised: dict[tuple[str, str], date] = field(default_factory=dict)


def _column(rows: Sequence[Any], name: str, *, missing: float = np.nan) -> FloatArray:
    return np.asarray([missing if r[name] is None else r[name] for r in rows], dtype=np.float64)


def _ints(rows: Sequence[Any], name: str, *, missing: int = 0) -> npt.NDArray[np.int64]:
    return np.asarray([missing if r[name] is None else r[name] for r in rows], dtype=np.int64)


def _ratio(numerator: FloatArray, denominator: FloatArray, *, cap: float = np.inf) -> FloatArray:
    out = np.full(len(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return np.minimum(out, cap)


def envelope_json(
    *, type_: str, subject: str, data: dict[str, Any], business_date: date, correlation: str | None
) -> Any:
    """An outbox record for a risk.scores event; `data` must already be in the contract's JSON form."""
    event_id = new_event_id()
    envelope = {
        "id": str(event_id),
        "type": type_,
        "version": 1,
        "source": SOURCE,
        "subject": subject,
        "time": datetime.now(UTC).isoformat(),
        "business_date": business_date.isoformat(),
        "correlation_id": correlation,
        "causation_id": None,
        "data": data,
    }
    headers = {"event-type": type_, "event-version": "1"}
    if correlation:
        headers["correlation-id"] = correlation
    return (event_id, RISK_SCORES, subject, None, type_, json.dumps(envelope).encode(), json.dumps(headers))


OUTBOX_COLUMNS = ("event_id", "topic", "key", "partition", "event_type", "payload", "headers")


def _probability(value: float) -> str:
    return format(Decimal(repr(float(value))).quantize(Decimal("0.00000001")), "f")


def _cents(value: int) -> str:
    return format(Decimal(int(value)).scaleb(-2), ".2f")


async def load_alert_book(session: AsyncSession, *, subject_type: str, business_date: date) -> AlertBook:
    """Open alerts and recent raisings of one subject type."""
    raw = await raw_connection(session)
    book = AlertBook()
    for r in await raw.fetch(
        "SELECT rule_id, subject_id, alert_id FROM alerts "
        "WHERE subject_type = $1 AND status IN ('open', 'acknowledged')",
        subject_type,
    ):
        book.open[(r["rule_id"], r["subject_id"])] = r["alert_id"]
    for r in await raw.fetch(
        """SELECT a.rule_id, a.subject_id, max(a.raised_on) AS raised_on FROM alerts a JOIN rules r USING (rule_id)
           WHERE a.subject_type = $1 AND a.raised_on > $2::date - r.dedup_window_days GROUP BY 1, 2""",
        subject_type,
        business_date,
    ):
        book.last_raised[(r["rule_id"], r["subject_id"])] = r["raised_on"]
    return book


async def enabled_rules(session: AsyncSession, subject_type: str) -> list[dict[str, Any]]:
    """The enabled rules of a subject type."""
    raw = await raw_connection(session)
    rows = await raw.fetch(
        "SELECT rule_id, name, condition, severity, dedup_window_days, auto_resolve FROM rules "
        "WHERE enabled AND subject_type = $1 ORDER BY rule_id",
        subject_type,
    )
    return [{**dict(r), "condition": _json(r["condition"])} for r in rows]


def _json(value: Any) -> Any:
    """A JSONB value: the session's connection decodes it already, a bare asyncpg one does not."""
    return json.loads(value) if isinstance(value, str | bytes) else value


async def apply_rules(
    session: AsyncSession,
    *,
    subject_type: str,
    subjects: Sequence[str],
    customers: Sequence[str | None],
    columns: dict[str, Any],
    rule_set: Sequence[dict[str, Any]],
    book: AlertBook,
    business_date: date,
    auto_resolve: bool,
    correlation: str | None,
    actor: str = "risk-alert",
) -> tuple[int, int]:
    """Raise alerts for rules that hold and are not open or within their window; resolve those that stopped holding."""
    raised: list[tuple[Any, ...]] = []
    history: list[tuple[Any, ...]] = []
    events: list[Any] = []
    resolved_ids: list[str] = []
    now = datetime.now(UTC)
    n = len(subjects)
    for rule in rule_set:
        mask = rules.evaluate_columns(rule["condition"], columns, n)
        rule_id = rule["rule_id"]
        message = f"{rule['name']}: {rules.describe(rule['condition'])}"[:500]
        for i in np.flatnonzero(mask).tolist():
            subject = subjects[i]
            key = (rule_id, subject)
            if key in book.open or within_window(book.last_raised.get(key), business_date, rule["dedup_window_days"]):
                continue
            alert_id = str(uuid.uuid4())
            book.open[key] = alert_id
            book.last_raised[key] = business_date
            customer = customers[i]
            raised.append(
                (
                    alert_id,
                    rule_id,
                    subject_type,
                    subject,
                    customer,
                    rule["severity"],
                    "open",
                    message,
                    business_date,
                    now,
                )
            )
            history.append((alert_id, now, actor, "raise", None, "open", None))
            data = {
                "alert_id": alert_id,
                "rule_id": rule_id,
                "severity": rule["severity"],
                "subject_type": subject_type,
                "subject_id": subject,
                "customer_id": customer,
                "message": message,
            }
            events.append(
                envelope_json(
                    type_="risk-alert-raised",
                    subject=subject,
                    data=data,
                    business_date=business_date,
                    correlation=correlation,
                )
            )
        if not (auto_resolve and rule["auto_resolve"]):
            continue
        for i in np.flatnonzero(~mask).tolist():
            key = (rule_id, subjects[i])
            if key not in book.open:
                continue
            alert_id = book.open.pop(key)
            resolved_ids.append(alert_id)
            history.append((alert_id, now, actor, "auto-resolve", None, "resolved", "condition no longer holds"))
            data = {
                "alert_id": alert_id,
                "rule_id": rule_id,
                "subject_type": subject_type,
                "subject_id": subjects[i],
                "resolution": "resolved",
                "resolved_by": actor,
                "note": "condition no longer holds",
            }
            events.append(
                envelope_json(
                    type_="risk-alert-resolved",
                    subject=subjects[i],
                    data=data,
                    business_date=business_date,
                    correlation=correlation,
                )
            )
    raw = await raw_connection(session)
    if resolved_ids:
        await raw.execute(
            "UPDATE alerts SET status = 'resolved', closed_at = now(), updated_at = now() "
            "WHERE alert_id = ANY($1::text[])",
            resolved_ids,
        )
    await copy_rows(
        raw,
        "alerts",
        (
            "alert_id",
            "rule_id",
            "subject_type",
            "subject_id",
            "customer_id",
            "severity",
            "status",
            "message",
            "raised_on",
            "raised_at",
        ),
        raised,
    )
    await copy_rows(
        raw, "alert_history", ("alert_id", "at", "actor", "action", "from_status", "to_status", "note"), history
    )
    await copy_rows(raw, "outbox", OUTBOX_COLUMNS, events)
    return len(raised), len(resolved_ids)


@dataclass
class Context:
    business_date: date
    model: Scorecard
    settings: Settings
    loan_rules: list[dict[str, Any]]
    book: AlertBook
    correlation: str | None
    stats: RunStats


async def rescore(
    session: AsyncSession,
    *,
    business_date: date,
    settings: Settings,
    everything: bool = False,
    correlation_id: str | None = None,
) -> RunStats:
    """Re-score and re-classify every loan whose features changed or depend on time, as of `business_date`."""
    started = time.perf_counter()
    stats = RunStats(business_date)
    model = await models.champion(session)
    raw = await raw_connection(session)
    await raw.execute("CREATE TEMP TABLE IF NOT EXISTS touched_customers (customer_id text) ON COMMIT DELETE ROWS")
    ctx = Context(
        business_date=business_date,
        model=model,
        settings=settings,
        loan_rules=await enabled_rules(session, "loan"),
        book=await load_alert_book(session, subject_type="loan", business_date=business_date),
        correlation=correlation_id,
        stats=stats,
    )
    for non_retail in (True, False):
        # Non-retail loans come in one piece so each debtor's claims are classified together.
        limit = 10_000_000 if non_retail else settings.rescore_chunk_size
        last = ""
        while True:
            t = time.perf_counter()
            rows = await raw.fetch(FETCH, business_date, last, limit, everything, model.version, non_retail)
            stats.add_phase("read", t)
            if not rows:
                break
            await _process_chunk(session, ctx, rows, non_retail=non_retail)
            last = rows[-1]["loan_id"]
            if len(rows) < limit:
                break
    t = time.perf_counter()
    stats.customers = await refresh_customers(session, business_date=business_date)
    stats.add_phase("customers", t)
    t = time.perf_counter()
    raised, resolved = await evaluate_customer_rules(
        session, business_date=business_date, settings=settings, correlation_id=correlation_id, touched_only=True
    )
    stats.alerts_raised += raised
    stats.alerts_resolved += resolved
    stats.add_phase("customer_rules", t)
    if (business_date + timedelta(days=1)).day == 1:
        await snapshot_features(session, as_of=business_date)
    stats.seconds = round(time.perf_counter() - started, 3)
    return stats


async def _process_chunk(session: AsyncSession, ctx: Context, rows: Sequence[Any], *, non_retail: bool) -> None:
    t = time.perf_counter()
    n = len(rows)
    d = ctx.business_date
    stats = ctx.stats
    stats.loans += n
    loan_ids = [r["loan_id"] for r in rows]
    customer_ids = [r["customer_id"] for r in rows]
    dpd = _ints(rows, "dpd")
    open_episode = np.asarray([r["open_episode"] for r in rows], dtype=np.bool_)
    open_max = np.where(open_episode, np.maximum(_ints(rows, "episode_max"), dpd), 0)
    m3 = np.maximum(_ints(rows, "m3"), open_max)
    m6 = np.maximum(_ints(rows, "m6"), open_max)
    m12 = np.maximum(_ints(rows, "m12"), open_max)
    c30 = _ints(rows, "c30") + (open_max > 30)
    c60 = _ints(rows, "c60") + (open_max > 60)
    c90 = _ints(rows, "c90") + (open_max > 90)
    days_since_cure = _column(rows, "days_since_cure")
    months_since = np.where(dpd > 0, 0.0, np.floor(days_since_cure / 30.44))
    columns: dict[str, Any] = {
        "dpd": dpd.astype(np.float64),
        "max_dpd_3m": m3.astype(np.float64),
        "max_dpd_6m": m6.astype(np.float64),
        "max_dpd_12m": m12.astype(np.float64),
        "episodes_30": c30.astype(np.float64),
        "episodes_60": c60.astype(np.float64),
        "episodes_90": c90.astype(np.float64),
        "months_since_delinquency": months_since,
        "paid_due_ratio": _ratio(_column(rows, "amount_paid"), _column(rows, "amount_due"), cap=2.0),
        "partial_share": _ratio(_column(rows, "partial_payments"), _column(rows, "payments_count")),
        "missed_count": _column(rows, "missed_count"),
        "consecutive_misses": _column(rows, "consecutive_misses"),
        "broken_promises": _column(rows, "broken_promises"),
        "promises_kept": _column(rows, "promises_kept"),
        "negative_contact_share": _ratio(_column(rows, "contacts_negative"), _column(rows, "contacts")),
        "restructured": np.asarray([1.0 if r["restructured"] else 0.0 for r in rows]),
        "debt_ratio": _column(rows, "debt_ratio"),
        "current_ratio": _column(rows, "current_ratio"),
        "interest_coverage": _column(rows, "interest_coverage"),
        "revenue_change": _column(rows, "revenue_change"),
        "outstanding": _column(rows, "outstanding"),
        "overdue": _column(rows, "overdue"),
    }
    stats.add_phase("features", t)

    t = time.perf_counter()
    model = ctx.model
    scores = score_matrix(model, columns_matrix(model, columns, n))
    grade_names = np.asarray([g for g, _ in model.grades], dtype=object)
    grades = grade_names[scores.grade]
    prev_score = _column(rows, "prev_score")
    columns.update(
        pd=scores.pd,
        score=scores.score.astype(np.float64),
        score_drop=prev_score - scores.score,
        grade=grades,
        product=np.asarray([r["product"] for r in rows], dtype=object),
        segment=np.asarray([r["segment"] for r in rows], dtype=object),
    )
    stats.add_phase("score", t)

    t = time.perf_counter()
    as_of = d.toordinal()
    category_of = {name: i for i, name in enumerate(cls.CATEGORIES)}
    prev_own = np.asarray([category_of.get(r["prev_own"], cls.NONE) for r in rows], dtype=np.int64)
    prev_category = np.asarray([category_of.get(r["prev_category"], cls.NONE) for r in rows], dtype=np.int64)
    observation_offset = _column(rows, "observation_offset")
    book = cls.LoanBook(
        dpd=dpd,
        period_days=_ints(rows, "period_days", missing=30),
        restructured=np.asarray([bool(r["restructured"]) for r in rows], dtype=np.bool_),
        observation_start=np.where(
            np.isnan(observation_offset), cls.NONE, as_of + np.nan_to_num(observation_offset).astype(np.int64)
        ),
        category_at_restructure=_ints(rows, "category_at_restructure", missing=cls.NONE),
        previous_category=prev_own,
        last_cured_on=np.where(
            np.isnan(days_since_cure), cls.NONE, as_of - np.nan_to_num(days_since_cure).astype(np.int64)
        ),
    )
    policy = ctx.settings.classification_policy()
    result = cls.classify(book, as_of=as_of, policy=policy)
    own = result.category
    category, reason = own, result.reason
    if non_retail:
        _, codes = np.unique(np.asarray(customer_ids, dtype=object), return_inverse=True)
        category, reason, _ = cls.debtor_contagion(
            own,
            reason,
            customer=codes.astype(np.int64),
            non_retail=np.ones(n, dtype=np.bool_),
            balance=columns["outstanding"],
            policy=policy,
        )
    prev_pd_origination = _column(rows, "pd_origination")
    pd_origination = np.where(np.isnan(prev_pd_origination), scores.pd, prev_pd_origination)
    i9 = ctx.settings.ifrs9_policy()
    stage = ifrs9.stage(dpd=dpd, category=category, pd=scores.pd, pd_origination=pd_origination, policy=i9)
    lgd_cache: dict[tuple[str, str], float] = {}
    lgd = np.asarray(
        [lgd_cache.setdefault((r["product"], r["collateral"]), i9.lgd_for(r["product"], r["collateral"])) for r in rows]
    )
    remaining_years = np.maximum(_column(rows, "days_to_maturity", missing=0.0), 0.0) / 365.25
    ecl = ifrs9.ecl_cents(
        stage=stage,
        pd12=scores.pd,
        lgd=lgd,
        ead_cents=_ints(rows, "outstanding_cents"),
        remaining_years=remaining_years,
        annual_rate=_column(rows, "annual_rate", missing=0.0),
    )
    category_names = np.asarray(cls.CATEGORIES, dtype=object)[category]
    columns.update(classification=category_names, ifrs9_stage=stage.astype(np.float64))
    stats.add_phase("classify", t)

    t = time.perf_counter()
    await _write_chunk(
        session,
        ctx,
        rows,
        loan_ids=loan_ids,
        customer_ids=customer_ids,
        features=(dpd, m3, m6, m12, c30, c60, c90, months_since, open_max),
        scores=scores,
        grades=grades,
        pd_origination=pd_origination,
        own=own,
        category=category,
        prev_category=prev_category,
        reason=reason,
        stage=stage,
        ecl=ecl,
        result=result,
    )
    stats.add_phase("write", t)

    t = time.perf_counter()
    raised, resolved = await apply_rules(
        session,
        subject_type="loan",
        subjects=loan_ids,
        customers=customer_ids,
        columns=columns,
        rule_set=ctx.loan_rules,
        book=ctx.book,
        business_date=d,
        auto_resolve=ctx.settings.auto_resolve_alerts,
        correlation=ctx.correlation,
    )
    stats.alerts_raised += raised
    stats.alerts_resolved += resolved
    stats.add_phase("rules", t)


async def _write_chunk(
    session: AsyncSession,
    ctx: Context,
    rows: Sequence[Any],
    *,
    loan_ids: list[str],
    customer_ids: list[str],
    features: tuple[Any, ...],
    scores: Any,
    grades: Any,
    pd_origination: FloatArray,
    own: Any,
    category: Any,
    prev_category: Any,
    reason: Any,
    stage: Any,
    ecl: Any,
    result: cls.Classified,
) -> None:
    d = ctx.business_date
    model = ctx.model
    threshold = ctx.settings.score_change_threshold
    raw = await raw_connection(session)
    dpd, m3, m6, m12, c30, c60, c90, months_since, open_max = features
    await raw.execute(
        """CREATE TEMP TABLE IF NOT EXISTS tmp_features (loan_id text, dpd int, m3 int, m6 int, m12 int, c30 int,
           c60 int, c90 int, months int, episode_max int) ON COMMIT DROP"""
    )
    await raw.execute("TRUNCATE tmp_features")
    # Only rows whose derived features moved (or that were dirty) are written back.
    stored_months = _column(rows, "smonths")
    moved = (
        np.asarray([bool(r["dirty"]) for r in rows], dtype=np.bool_)
        | (dpd != _ints(rows, "stored_dpd"))
        | (m3 != _ints(rows, "s3"))
        | (m6 != _ints(rows, "s6"))
        | (m12 != _ints(rows, "s12"))
        | (c30 != _ints(rows, "s30"))
        | (c60 != _ints(rows, "s60"))
        | (c90 != _ints(rows, "s90"))
        | (np.isnan(months_since) != np.isnan(stored_months))
        | (np.nan_to_num(months_since) != np.nan_to_num(stored_months))
        | (open_max > _ints(rows, "episode_max"))
    )
    await copy_rows(
        raw,
        "tmp_features",
        ("loan_id", "dpd", "m3", "m6", "m12", "c30", "c60", "c90", "months", "episode_max"),
        (
            (
                loan_ids[i],
                int(dpd[i]),
                int(m3[i]),
                int(m6[i]),
                int(m12[i]),
                int(c30[i]),
                int(c60[i]),
                int(c90[i]),
                None if np.isnan(months_since[i]) else int(months_since[i]),
                int(open_max[i]),
            )
            for i in np.flatnonzero(moved).tolist()
        ),
    )
    await raw.execute(
        """UPDATE loan_features f SET dpd = t.dpd, max_dpd_3m = t.m3, max_dpd_6m = t.m6, max_dpd_12m = t.m12,
               episodes_30 = t.c30, episodes_60 = t.c60, episodes_90 = t.c90, months_since_delinquency = t.months,
               episode_max = greatest(f.episode_max, t.episode_max), dirty = false, last_business_date = $1
           FROM tmp_features t WHERE f.loan_id = t.loan_id""",
        d,
    )

    # Scores: write the rows whose PD or model moved; publish those that moved beyond the threshold.
    prev_pd = _column(rows, "prev_pd")
    published_score = _column(rows, "published_score")
    published_grade = [r["published_grade"] for r in rows]
    version_changed = np.asarray([r["model_version"] != model.version for r in rows], dtype=np.bool_)
    changed = np.isnan(prev_pd) | (np.abs(scores.pd - np.nan_to_num(prev_pd)) > 1e-8) | version_changed
    publish = np.isnan(published_score) | (np.abs(scores.score - np.nan_to_num(published_score)) >= threshold)
    publish |= np.asarray([g != p for g, p in zip(grades, published_grade, strict=True)], dtype=np.bool_)
    reason_names = [b.feature for b in model.bins]
    score_records: list[tuple[Any, ...]] = []
    events: list[Any] = []
    for i in np.flatnonzero(changed | publish).tolist():
        reasons = [reason_names[j] for j in scores.reasons[i] if j >= 0]
        pub = bool(publish[i])
        score_records.append(
            (
                loan_ids[i],
                customer_ids[i],
                float(scores.pd[i]),
                int(scores.score[i]),
                grades[i],
                reasons,
                model.version,
                float(pd_origination[i]),
                int(scores.score[i]) if pub else (None if np.isnan(published_score[i]) else int(published_score[i])),
                grades[i] if pub else published_grade[i],
            )
        )
        if pub:
            data = {
                "loan_id": loan_ids[i],
                "customer_id": customer_ids[i],
                "score": int(scores.score[i]),
                "pd": _probability(scores.pd[i]),
                "grade": grades[i],
                "previous_score": None if np.isnan(published_score[i]) else int(published_score[i]),
                "previous_grade": published_grade[i],
                "model_version": model.version,
                "reason_codes": reasons,
            }
            events.append(
                envelope_json(
                    type_="risk-score-changed",
                    subject=loan_ids[i],
                    data=data,
                    business_date=d,
                    correlation=ctx.correlation,
                )
            )
    ctx.stats.scores_written += len(score_records)
    ctx.stats.score_events += len(events)
    if score_records:
        await raw.execute(
            """CREATE TEMP TABLE IF NOT EXISTS tmp_scores (loan_id text, customer_id text, pd float8, score int,
               grade text, reason_codes text[], model_version text, pd_origination float8, published_score int,
               published_grade text) ON COMMIT DROP"""
        )
        await raw.execute("TRUNCATE tmp_scores")
        await copy_rows(
            raw,
            "tmp_scores",
            (
                "loan_id",
                "customer_id",
                "pd",
                "score",
                "grade",
                "reason_codes",
                "model_version",
                "pd_origination",
                "published_score",
                "published_grade",
            ),
            score_records,
        )
        await raw.execute(
            """INSERT INTO loan_scores AS s (loan_id, customer_id, pd, score, grade, reason_codes, model_version,
                   pd_origination, published_score, published_grade, scored_on, updated_at)
               SELECT loan_id, customer_id, round(pd::numeric, 8), score, grade, reason_codes, model_version,
                   round(pd_origination::numeric, 8), published_score, published_grade, $1, now() FROM tmp_scores
               ON CONFLICT (loan_id) DO UPDATE SET pd = excluded.pd, score = excluded.score, grade = excluded.grade,
                   reason_codes = excluded.reason_codes, model_version = excluded.model_version,
                   published_score = excluded.published_score, published_grade = excluded.published_grade,
                   scored_on = excluded.scored_on, updated_at = now()""",
            d,
        )

    # Classifications: write what changed; publish category or stage changes (a first classification
    # is published only when it is not normal / stage 1, the state every loan is presumed to start in).
    prev_stage = _ints(rows, "prev_stage", missing=0)
    prev_ecl = _ints(rows, "prev_ecl_cents", missing=-1)
    prev_obs = [r["prev_obs"] for r in rows]
    days_since_class = _ints(rows, "days_since_class", missing=0)
    first = prev_category == cls.NONE
    moved = (category != prev_category) | (stage != prev_stage)
    announce = np.where(first, (category != cls.NORMAL) | (stage != 1), moved)
    write = (
        first
        | moved
        | (ecl != prev_ecl)
        | np.asarray([bool(o) != bool(p) for o, p in zip(result.in_observation, prev_obs, strict=True)], dtype=np.bool_)
    )
    class_records: list[tuple[Any, ...]] = []
    for i in np.flatnonzero(write).tolist():
        since = d if (first[i] or category[i] != prev_category[i]) else d - timedelta(days=int(days_since_class[i]))
        end = int(result.observation_end[i])
        class_records.append(
            (
                loan_ids[i],
                customer_ids[i],
                cls.CATEGORIES[int(category[i])],
                cls.CATEGORIES[int(own[i])],
                int(stage[i]),
                int(ecl[i]),
                cls.REASONS[int(reason[i])],
                since,
                bool(result.in_observation[i]),
                date.fromordinal(end) if end != cls.NONE else None,
            )
        )
        if announce[i]:
            data = {
                "loan_id": loan_ids[i],
                "customer_id": customer_ids[i],
                "from_classification": None if first[i] else cls.CATEGORIES[int(prev_category[i])],
                "to_classification": cls.CATEGORIES[int(category[i])],
                "previous_ifrs9_stage": None if first[i] else int(prev_stage[i]),
                "ifrs9_stage": int(stage[i]),
                "ecl": _cents(int(ecl[i])),
                "dpd": int(dpd[i]),
                "reason": cls.REASONS[int(reason[i])],
            }
            events.append(
                envelope_json(
                    type_="classification-changed",
                    subject=loan_ids[i],
                    data=data,
                    business_date=d,
                    correlation=ctx.correlation,
                )
            )
            ctx.stats.classification_events += 1
    ctx.stats.classifications_written += len(class_records)
    if class_records:
        await raw.execute(
            """CREATE TEMP TABLE IF NOT EXISTS tmp_class (loan_id text, customer_id text, category text,
               own_category text, stage smallint, ecl_cents bigint, reason text, since date, in_observation boolean,
               observation_end date) ON COMMIT DROP"""
        )
        await raw.execute("TRUNCATE tmp_class")
        await copy_rows(
            raw,
            "tmp_class",
            (
                "loan_id",
                "customer_id",
                "category",
                "own_category",
                "stage",
                "ecl_cents",
                "reason",
                "since",
                "in_observation",
                "observation_end",
            ),
            class_records,
        )
        await raw.execute(
            """INSERT INTO classifications AS c (loan_id, customer_id, category, own_category, ifrs9_stage, ecl, reason,
                   since, in_observation, observation_end, classified_on, updated_at)
               SELECT loan_id, customer_id, category, own_category, stage, ecl_cents / 100.0, reason, since,
                   in_observation, observation_end, $1, now() FROM tmp_class
               ON CONFLICT (loan_id) DO UPDATE SET category = excluded.category, own_category = excluded.own_category,
                   ifrs9_stage = excluded.ifrs9_stage, ecl = excluded.ecl, reason = excluded.reason,
                   since = excluded.since, in_observation = excluded.in_observation,
                   observation_end = excluded.observation_end, classified_on = excluded.classified_on,
                   updated_at = now()""",
            d,
        )
    await copy_rows(raw, "outbox", OUTBOX_COLUMNS, events)
    # Customers whose loans changed anything are re-aggregated after the loans.
    touched = moved | changed | publish | write
    await copy_rows(
        raw, "touched_customers", ("customer_id",), {(customer_ids[i],) for i in np.flatnonzero(touched).tolist()}
    )


async def refresh_customers(session: AsyncSession, *, business_date: date) -> int:
    """Re-aggregate the customer features and scores of the customers touched in this run."""
    raw = await raw_connection(session)
    status = await raw.execute(
        """INSERT INTO customer_features AS cf (customer_id, segment, loan_count, outstanding, npl_outstanding,
               max_dpd, broken_promises, updated_at)
           SELECT f.customer_id, max(f.segment), count(*), sum(f.outstanding),
               coalesce(sum(f.outstanding) FILTER (WHERE c.category IN ('substandard', 'doubtful', 'loss')), 0),
               max(f.dpd), sum(f.broken_promises), now()
           FROM loan_features f LEFT JOIN classifications c ON c.loan_id = f.loan_id
           WHERE f.status = 'active' AND f.customer_id IN (SELECT customer_id FROM touched_customers)
           GROUP BY f.customer_id
           ON CONFLICT (customer_id) DO UPDATE SET segment = excluded.segment, loan_count = excluded.loan_count,
               outstanding = excluded.outstanding, npl_outstanding = excluded.npl_outstanding,
               max_dpd = excluded.max_dpd, broken_promises = excluded.broken_promises, updated_at = now()"""
    )
    # A customer's score is that of their riskiest active loan.
    await raw.execute(
        """INSERT INTO customer_scores AS cs (customer_id, pd, score, grade, reason_codes, model_version, scored_on)
           SELECT DISTINCT ON (s.customer_id) s.customer_id, s.pd, s.score, s.grade, s.reason_codes, s.model_version, $1
           FROM loan_scores s JOIN loan_features f ON f.loan_id = s.loan_id
           WHERE f.status = 'active' AND s.customer_id IN (SELECT customer_id FROM touched_customers)
           ORDER BY s.customer_id, s.pd DESC
           ON CONFLICT (customer_id) DO UPDATE SET pd = excluded.pd, score = excluded.score, grade = excluded.grade,
               reason_codes = excluded.reason_codes, model_version = excluded.model_version,
               scored_on = excluded.scored_on, updated_at = now()""",
        business_date,
    )
    return int(status.split()[-1])


CUSTOMER_FETCH = """
SELECT cf.customer_id, cf.segment, cf.loan_count, cf.outstanding::float8 AS outstanding,
       CASE WHEN cf.outstanding > 0 THEN (cf.npl_outstanding / cf.outstanding)::float8 END AS npl_share,
       cf.max_dpd, cf.broken_promises, cf.debt_ratio::float8 AS debt_ratio, cf.current_ratio::float8 AS current_ratio,
       cf.interest_coverage::float8 AS interest_coverage, cf.revenue_change::float8 AS revenue_change,
       cs.pd::float8 AS pd, cs.score, cs.grade
FROM customer_features cf LEFT JOIN customer_scores cs ON cs.customer_id = cf.customer_id
"""


async def evaluate_customer_rules(
    session: AsyncSession,
    *,
    business_date: date,
    settings: Settings,
    correlation_id: str | None,
    touched_only: bool = False,
    customer_ids: Sequence[str] = (),
    actor: str = "risk-alert",
) -> tuple[int, int]:
    """Evaluate the customer rules for the touched customers (or `customer_ids`)."""
    rule_set = await enabled_rules(session, "customer")
    if not rule_set:
        return 0, 0
    raw = await raw_connection(session)
    if touched_only:
        rows = await raw.fetch(CUSTOMER_FETCH + " WHERE cf.customer_id IN (SELECT customer_id FROM touched_customers)")
    else:
        rows = await raw.fetch(CUSTOMER_FETCH + " WHERE cf.customer_id = ANY($1::text[])", list(customer_ids))
    if not rows:
        return 0, 0
    columns: dict[str, Any] = {
        name: _column(rows, name)
        for name in (
            "loan_count",
            "outstanding",
            "npl_share",
            "max_dpd",
            "broken_promises",
            "debt_ratio",
            "current_ratio",
            "interest_coverage",
            "revenue_change",
            "pd",
            "score",
        )
    }
    columns["grade"] = np.asarray([r["grade"] for r in rows], dtype=object)
    columns["segment"] = np.asarray([r["segment"] for r in rows], dtype=object)
    subjects = [r["customer_id"] for r in rows]
    book = await load_alert_book(session, subject_type="customer", business_date=business_date)
    return await apply_rules(
        session,
        subject_type="customer",
        subjects=subjects,
        customers=subjects,
        columns=columns,
        rule_set=rule_set,
        book=book,
        business_date=business_date,
        auto_resolve=settings.auto_resolve_alerts,
        correlation=correlation_id,
        actor=actor,
    )


async def snapshot_features(session: AsyncSession, *, as_of: date) -> None:
    """Keep the month-end features of every active loan (the inputs of training on own history)."""
    raw = await raw_connection(session)
    await raw.execute(
        """INSERT INTO feature_snapshots (as_of, loan_id, features)
           SELECT $1, f.loan_id, jsonb_build_object(
               'dpd', f.dpd, 'max_dpd_3m', f.max_dpd_3m, 'max_dpd_6m', f.max_dpd_6m, 'max_dpd_12m', f.max_dpd_12m,
               'episodes_30', f.episodes_30, 'episodes_60', f.episodes_60, 'episodes_90', f.episodes_90,
               'months_since_delinquency', f.months_since_delinquency,
               'paid_due_ratio', CASE WHEN f.amount_due > 0 THEN least(f.amount_paid / f.amount_due, 2) END,
               'partial_share', CASE WHEN f.payments_count > 0 THEN f.partial_payments::numeric / f.payments_count END,
               'missed_count', f.missed_count, 'consecutive_misses', f.consecutive_misses,
               'broken_promises', f.broken_promises,
               'negative_contact_share', CASE WHEN f.contacts > 0 THEN f.contacts_negative::numeric / f.contacts END,
               'restructured', CASE WHEN f.restructured THEN 1 ELSE 0 END,
               'debt_ratio', cf.debt_ratio, 'current_ratio', cf.current_ratio, 'revenue_change', cf.revenue_change)
           FROM loan_features f LEFT JOIN customer_features cf ON cf.customer_id = f.customer_id
           WHERE f.status = 'active'
           ON CONFLICT DO NOTHING""",
        as_of,
    )
