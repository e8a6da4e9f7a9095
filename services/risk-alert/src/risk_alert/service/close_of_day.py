"""Close of day: refresh time-dependent features, re-score, re-classify, evaluate rules, publish changes.

Set-based throughout: feature rows are read in chunks as packed column arrays (one row per chunk),
scored and classified with numpy, and handed back as arrays to one temporary table per chunk, from
which single statements update the stores and build the outbox events (envelope JSON in SQL). Only
rows that changed are written; events go to the outbox in the same transaction.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.catalog import RISK_SCORES
from postloan_common.logging import get_logger
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
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Stored ECL drifts a little every day (the horizon shortens), so a loan whose category, stage and
# score did not move has its ECL rewritten only once it has moved by this share (and at least by
# ECL_MIN_MOVE_CENTS); at month end, the reporting date, every ECL is rewritten exactly.
ECL_TOLERANCE = 0.05
ECL_MIN_MOVE_CENTS = 100
# A stand-in for NULL in integer arrays sent to PostgreSQL (turned back with NULLIF).
NULL_INT = -2147483648

# A loan is re-scored when its features changed, when time moves its features (overdue, recently
# cured, restructured), when its debtor is non-retail (10% rule), or when the model changed.
WORKING_SET = """
    f.status = 'active' AND (
        $4::boolean OR f.dirty OR f.overdue_since IS NOT NULL OR f.last_cured_on >= $1::date - 400
        OR f.restructured OR f.segment <> 'retail' OR s.model_version IS DISTINCT FROM $5
        OR c.category IN ('substandard', 'doubtful', 'loss')
    )
"""

# The columns of one chunk: text columns come as arrays, numbers as packed big-endian binary (one
# bytea per column, decoded by numpy without a Python object per value). NULL numbers: NaN or a default.
TEXT_COLUMNS = {
    "loan_id": "f.loan_id",
    "customer_id": "f.customer_id",
    "product": "f.product",
    "segment": "f.segment",
    "collateral": "f.collateral",
    "published_grade": "s.published_grade",
}
FLOAT_COLUMNS = {
    "overdue": "f.overdue",
    "outstanding": "f.outstanding",
    "annual_rate": "f.annual_rate",
    "days_to_maturity": "coalesce(f.maturity_date - $1::date, 0)",
    "days_since_cure": "$1::date - f.last_cured_on",
    "amount_due": "f.amount_due",
    "amount_paid": "f.amount_paid",
    "payments_count": "f.payments_count",
    "partial_payments": "f.partial_payments",
    "missed_count": "f.missed_count",
    "consecutive_misses": "f.consecutive_misses",
    "broken_promises": "f.broken_promises",
    "promises_kept": "f.promises_kept",
    "contacts": "f.contacts",
    "contacts_negative": "f.contacts_negative",
    "observation_offset": "f.observation_start - $1::date",
    "smonths": "f.months_since_delinquency",
    "debt_ratio": "cf.debt_ratio",
    "current_ratio": "cf.current_ratio",
    "interest_coverage": "cf.interest_coverage",
    "revenue_change": "cf.revenue_change",
    "prev_pd": "s.pd",
    "prev_score": "s.score",
    "published_score": "s.published_score",
    "pd_origination": "s.pd_origination",
}
INT_COLUMNS = {
    "outstanding_cents": "(f.outstanding * 100)::bigint",
    "dpd": "CASE WHEN f.overdue_since IS NULL THEN 0 ELSE greatest($1::date - f.overdue_since, 0) END",
    "open_episode": "(f.episode_started_on IS NOT NULL)::int",
    "episode_max": "f.episode_max",
    "dirty": "f.dirty::int",
    "restructured": "f.restructured::int",
    "category_at_restructure": f"coalesce(f.category_at_restructure, {cls.NONE})",
    "period_days": "coalesce(f.period_days, 30)",
    "stored_dpd": "f.dpd",
    "s3": "f.max_dpd_3m",
    "s6": "f.max_dpd_6m",
    "s12": "f.max_dpd_12m",
    "s30": "f.episodes_30",
    "s60": "f.episodes_60",
    "s90": "f.episodes_90",
    "m3": "coalesce(ep.m3, 0)",
    "m6": "coalesce(ep.m6, 0)",
    "m12": "coalesce(ep.m12, 0)",
    "c30": "coalesce(ep.c30, 0)",
    "c60": "coalesce(ep.c60, 0)",
    "c90": "coalesce(ep.c90, 0)",
    "version_changed": "(s.model_version IS DISTINCT FROM $5)::int",
    "published_grade_code": "coalesce(array_position($7::text[], s.published_grade::text) - 1, -1)",
    "prev_category": f"coalesce(array_position($8::text[], c.category::text) - 1, {cls.NONE})",
    "prev_own": f"coalesce(array_position($8::text[], c.own_category::text) - 1, {cls.NONE})",
    "prev_stage": "coalesce(c.ifrs9_stage, 0)",
    "prev_ecl_cents": "coalesce((c.ecl * 100)::bigint, -1)",
    "days_since_class": "coalesce($1::date - c.since, 0)",
    "prev_obs": "coalesce(c.in_observation, false)::int",
}


def _fetch_sql() -> str:
    packed = [f"array_agg({name}) AS {name}" for name in TEXT_COLUMNS]
    packed += [f"string_agg(float8send(coalesce({name}, 'NaN')), '') AS {name}" for name in FLOAT_COLUMNS]
    packed += [f"string_agg(int8send({name}), '') AS {name}" for name in INT_COLUMNS]
    selected = [f"{expr} AS {name}" for name, expr in TEXT_COLUMNS.items()]
    selected += [f"({expr})::float8 AS {name}" for name, expr in FLOAT_COLUMNS.items()]
    selected += [f"({expr})::bigint AS {name}" for name, expr in INT_COLUMNS.items()]
    return f"""
SELECT count(*) AS n, max(loan_id) AS last, {", ".join(packed)}
FROM (
    SELECT {", ".join(selected)}
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
) rows
"""


FETCH = _fetch_sql()


class Chunk:
    """One chunk of feature rows as column arrays."""

    def __init__(self, row: Any) -> None:
        self.n = int(row["n"])
        self.last = str(row["last"])
        self._row = row

    def text(self, name: str) -> list[Any]:
        """A text column (None where NULL)."""
        return list(self._row[name])

    def floats(self, name: str) -> FloatArray:
        """A numeric column as float64 (NaN where NULL)."""
        return np.frombuffer(self._row[name], dtype=">f8").astype(np.float64)

    def ints(self, name: str) -> IntArray:
        """An integer or boolean column as int64."""
        return np.frombuffer(self._row[name], dtype=">i8").astype(np.int64)

    def flags(self, name: str) -> BoolArray:
        """A boolean column."""
        return self.ints(name) != 0


def _emit(*, source: str, type_: str, first_param: int) -> str:
    """A statement inserting one outbox event per row of CTE `source` (columns: subject, data).

    Parameters from `first_param`: envelope time, business date and correlation id (text), headers (jsonb),
    and the prefix and counter base of the event ids (see `_envelope_params`).
    The envelope is built as json (not jsonb): plain concatenation, no key sorting.
    """
    p = first_param
    return f"""INSERT INTO outbox (event_id, topic, key, partition, event_type, payload, headers)
SELECT id, '{RISK_SCORES}', subject, NULL, '{type_}', convert_to(json_build_object(
    'id', id, 'type', '{type_}', 'version', 1, 'source', '{SOURCE}', 'subject', subject,
    'time', ${p}::text, 'business_date', ${p + 1}::text, 'correlation_id', ${p + 2}::text,
    'causation_id', NULL, 'data', data)::text, 'UTF8'), ${p + 3}::jsonb
FROM (
    SELECT (${p + 4}::text || lpad(to_hex(${p + 5}::bigint + row_number() OVER ()), 15, '0'))::uuid AS id, subject, data
    FROM {source}
) ev"""


def _envelope_params(business_date: date, correlation: str | None, type_: str) -> list[Any]:
    headers = {"event-type": type_, "event-version": "1"}
    if correlation:
        headers["correlation-id"] = correlation
    # Event ids are UUIDv7 (ARCHITECTURE): this millisecond and 12 random bits, version and variant nibbles,
    # then a random 59-bit base plus the row number — unique within the statement, random across statements,
    # and without a strong random draw per row (gen_random_uuid() costs microseconds each).
    now = datetime.now(UTC)
    millis = int(now.timestamp() * 1000)
    prefix = f"{millis:012x}7{secrets.randbits(12):03x}8"
    return [now.isoformat(), business_date.isoformat(), correlation, json.dumps(headers), prefix, secrets.randbits(59)]


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
    # The open alerts of each rule by subject: resolving looks them up rather than scanning every subject.
    by_rule: dict[str, dict[str, str]] = field(default_factory=dict)

    def add_open(self, rule_id: str, subject: str, alert_id: str) -> None:
        """Record an open alert."""
        self.open[(rule_id, subject)] = alert_id
        self.by_rule.setdefault(rule_id, {})[subject] = alert_id

    def pop_open(self, rule_id: str, subject: str) -> str:
        """Forget an open alert; return its id."""
        self.by_rule[rule_id].pop(subject, None)
        return self.open.pop((rule_id, subject))


def _column(rows: Sequence[Any], name: str, *, missing: float = np.nan) -> FloatArray:
    return np.asarray([missing if r[name] is None else r[name] for r in rows], dtype=np.float64)


def _ratio(numerator: FloatArray, denominator: FloatArray, *, cap: float = np.inf) -> FloatArray:
    out = np.full(len(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return np.minimum(out, cap)


async def load_alert_book(session: AsyncSession, *, subject_type: str, business_date: date) -> AlertBook:
    """Open alerts and recent raisings of one subject type."""
    raw = await raw_connection(session)
    book = AlertBook()
    for r in await raw.fetch(
        "SELECT rule_id, subject_id, alert_id FROM alerts "
        "WHERE subject_type = $1 AND status IN ('open', 'acknowledged')",
        subject_type,
    ):
        book.add_open(r["rule_id"], r["subject_id"], r["alert_id"])
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


# Raise alerts of one rule: the alert rows, their history and their events in one statement.
RAISE = f"""
WITH a AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS a(alert_id, subject, customer_id)
),
ins AS (
    INSERT INTO alerts (alert_id, rule_id, subject_type, subject_id, customer_id, severity, status, message,
        raised_on, raised_at)
    SELECT alert_id, $4, $5, subject, customer_id, $6, 'open', $7, $8, $9 FROM a
),
hist AS (
    INSERT INTO alert_history (alert_id, at, actor, action, from_status, to_status, note)
    SELECT alert_id, $9, $10, 'raise', NULL, 'open', NULL FROM a
),
d AS (
    SELECT subject, json_build_object('alert_id', alert_id, 'rule_id', $4::text, 'severity', $6::text,
        'subject_type', $5::text, 'subject_id', subject, 'customer_id', customer_id, 'message', $7::text) AS data
    FROM a
)
{_emit(source="d", type_="risk-alert-raised", first_param=11)}
"""

# Auto-resolve alerts of one rule: status, history and events in one statement.
RESOLVE = f"""
WITH a AS (SELECT * FROM unnest($1::text[], $2::text[]) AS a(alert_id, subject)),
upd AS (
    UPDATE alerts SET status = 'resolved', closed_at = now(), updated_at = now()
    WHERE alert_id IN (SELECT alert_id FROM a)
),
hist AS (
    INSERT INTO alert_history (alert_id, at, actor, action, from_status, to_status, note)
    SELECT alert_id, $5, $6, 'auto-resolve', NULL, 'resolved', 'condition no longer holds' FROM a
),
d AS (
    SELECT subject, json_build_object('alert_id', alert_id, 'rule_id', $3::text, 'subject_type', $4::text,
        'subject_id', subject, 'resolution', 'resolved', 'resolved_by', $6::text,
        'note', 'condition no longer holds') AS data
    FROM a
)
{_emit(source="d", type_="risk-alert-resolved", first_param=7)}
"""


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
    raw = await raw_connection(session)
    now = datetime.now(UTC)
    n = len(subjects)
    raised_total = resolved_total = 0
    position: dict[str, int] | None = None
    for rule in rule_set:
        mask = rules.evaluate_columns(rule["condition"], columns, n)
        rule_id = rule["rule_id"]
        message = f"{rule['name']}: {rules.describe(rule['condition'])}"[:500]
        alert_ids: list[str] = []
        raised_subjects: list[str] = []
        raised_customers: list[str | None] = []
        for i in np.flatnonzero(mask).tolist():
            subject = subjects[i]
            key = (rule_id, subject)
            if key in book.open or within_window(book.last_raised.get(key), business_date, rule["dedup_window_days"]):
                continue
            alert_id = str(uuid.uuid4())
            book.add_open(rule_id, subject, alert_id)
            book.last_raised[key] = business_date
            alert_ids.append(alert_id)
            raised_subjects.append(subject)
            raised_customers.append(customers[i])
        if alert_ids:
            await raw.execute(
                RAISE,
                alert_ids,
                raised_subjects,
                raised_customers,
                rule_id,
                subject_type,
                rule["severity"],
                message,
                business_date,
                now,
                actor,
                *_envelope_params(business_date, correlation, "risk-alert-raised"),
            )
            raised_total += len(alert_ids)
        if not (auto_resolve and rule["auto_resolve"]):
            continue
        # Only subjects with an open alert of this rule can resolve: visit whichever side is smaller.
        open_of_rule = book.by_rule.get(rule_id, {})
        if len(open_of_rule) < n:
            if position is None:
                position = {s: i for i, s in enumerate(subjects)}
            found = (position.get(s) for s in open_of_rule)
            candidates = sorted(i for i in found if i is not None and not mask[i])
        else:
            candidates = [i for i in np.flatnonzero(~mask).tolist() if subjects[i] in open_of_rule]
        resolved_subjects = [subjects[i] for i in candidates]
        resolved_ids = [book.pop_open(rule_id, s) for s in resolved_subjects]
        if resolved_ids:
            await raw.execute(
                RESOLVE,
                resolved_ids,
                resolved_subjects,
                rule_id,
                subject_type,
                now,
                actor,
                *_envelope_params(business_date, correlation, "risk-alert-resolved"),
            )
            resolved_total += len(resolved_ids)
    return raised_total, resolved_total


@dataclass
class Context:
    business_date: date
    model: Scorecard
    settings: Settings
    loan_rules: list[dict[str, Any]]
    book: AlertBook
    correlation: str | None
    stats: RunStats
    # At month end (the reporting date) every ECL is rewritten exactly; on other days within a tolerance.
    exact_ecl: bool = False


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
    month_end = (business_date + timedelta(days=1)).day == 1
    await raw.execute(
        "CREATE TEMP TABLE IF NOT EXISTS touched_customers (customer_id text PRIMARY KEY) ON COMMIT DELETE ROWS"
    )
    ctx = Context(
        business_date=business_date,
        model=model,
        settings=settings,
        loan_rules=await enabled_rules(session, "loan"),
        book=await load_alert_book(session, subject_type="loan", business_date=business_date),
        correlation=correlation_id,
        stats=stats,
        exact_ecl=month_end,
    )
    grade_names = [g for g, _ in model.grades]
    for non_retail in (True, False):
        # Non-retail loans come in one piece so each debtor's claims are classified together.
        limit = 10_000_000 if non_retail else settings.rescore_chunk_size
        last = ""
        while True:
            t = time.perf_counter()
            row = await raw.fetchrow(
                FETCH,
                business_date,
                last,
                limit,
                everything or month_end,
                model.version,
                non_retail,
                grade_names,
                list(cls.CATEGORIES),
            )
            stats.add_phase("read", t)
            chunk = Chunk(row)
            if not chunk.n:
                break
            await _process_chunk(session, ctx, chunk, non_retail=non_retail)
            last = chunk.last
            if chunk.n < limit:
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
    if month_end:
        t = time.perf_counter()
        await snapshot_features(session, as_of=business_date)
        stats.add_phase("snapshot", t)
    stats.seconds = round(time.perf_counter() - started, 3)
    return stats


async def _process_chunk(session: AsyncSession, ctx: Context, chunk: Chunk, *, non_retail: bool) -> None:
    t = time.perf_counter()
    n = chunk.n
    d = ctx.business_date
    stats = ctx.stats
    stats.loans += n
    loan_ids = chunk.text("loan_id")
    customer_ids = chunk.text("customer_id")
    dpd = chunk.ints("dpd")
    open_max = np.where(chunk.flags("open_episode"), np.maximum(chunk.ints("episode_max"), dpd), 0)
    m3 = np.maximum(chunk.ints("m3"), open_max)
    m6 = np.maximum(chunk.ints("m6"), open_max)
    m12 = np.maximum(chunk.ints("m12"), open_max)
    c30 = chunk.ints("c30") + (open_max > 30)
    c60 = chunk.ints("c60") + (open_max > 60)
    c90 = chunk.ints("c90") + (open_max > 90)
    days_since_cure = chunk.floats("days_since_cure")
    months_since = np.where(dpd > 0, 0.0, np.floor(days_since_cure / 30.44))
    restructured = chunk.flags("restructured")
    columns: dict[str, Any] = {
        "dpd": dpd.astype(np.float64),
        "max_dpd_3m": m3.astype(np.float64),
        "max_dpd_6m": m6.astype(np.float64),
        "max_dpd_12m": m12.astype(np.float64),
        "episodes_30": c30.astype(np.float64),
        "episodes_60": c60.astype(np.float64),
        "episodes_90": c90.astype(np.float64),
        "months_since_delinquency": months_since,
        "paid_due_ratio": _ratio(chunk.floats("amount_paid"), chunk.floats("amount_due"), cap=2.0),
        "partial_share": _ratio(chunk.floats("partial_payments"), chunk.floats("payments_count")),
        "missed_count": chunk.floats("missed_count"),
        "consecutive_misses": chunk.floats("consecutive_misses"),
        "broken_promises": chunk.floats("broken_promises"),
        "promises_kept": chunk.floats("promises_kept"),
        "negative_contact_share": _ratio(chunk.floats("contacts_negative"), chunk.floats("contacts")),
        "restructured": restructured.astype(np.float64),
        "debt_ratio": chunk.floats("debt_ratio"),
        "current_ratio": chunk.floats("current_ratio"),
        "interest_coverage": chunk.floats("interest_coverage"),
        "revenue_change": chunk.floats("revenue_change"),
        "outstanding": chunk.floats("outstanding"),
        "overdue": chunk.floats("overdue"),
    }
    stats.add_phase("features", t)

    t = time.perf_counter()
    model = ctx.model
    scores = score_matrix(model, columns_matrix(model, columns, n))
    grade_names = np.asarray([g for g, _ in model.grades], dtype=object)
    products = chunk.text("product")
    columns.update(
        pd=scores.pd,
        score=scores.score.astype(np.float64),
        score_drop=chunk.floats("prev_score") - scores.score,
        grade=grade_names[scores.grade],
        product=np.asarray(products, dtype=object),
        segment=np.asarray(chunk.text("segment"), dtype=object),
    )
    stats.add_phase("score", t)

    t = time.perf_counter()
    as_of = d.toordinal()
    days_since_cure_known = ~np.isnan(days_since_cure)
    observation_offset = chunk.floats("observation_offset")
    book = cls.LoanBook(
        dpd=dpd,
        period_days=chunk.ints("period_days"),
        restructured=restructured,
        observation_start=np.where(
            np.isnan(observation_offset), cls.NONE, as_of + np.nan_to_num(observation_offset).astype(np.int64)
        ),
        category_at_restructure=chunk.ints("category_at_restructure"),
        previous_category=chunk.ints("prev_own"),
        last_cured_on=np.where(
            days_since_cure_known, as_of - np.nan_to_num(days_since_cure).astype(np.int64), cls.NONE
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
    prev_pd_origination = chunk.floats("pd_origination")
    pd_origination = np.where(np.isnan(prev_pd_origination), scores.pd, prev_pd_origination)
    i9 = ctx.settings.ifrs9_policy()
    stage = ifrs9.stage(dpd=dpd, category=category, pd=scores.pd, pd_origination=pd_origination, policy=i9)
    lgd_of: dict[tuple[str, str], float] = {}
    lgd = np.asarray(
        [
            lgd_of[k] if k in lgd_of else lgd_of.setdefault(k, i9.lgd_for(*k))
            for k in zip(products, chunk.text("collateral"), strict=True)
        ]
    )
    ecl = ifrs9.ecl_cents(
        stage=stage,
        pd12=scores.pd,
        lgd=lgd,
        ead_cents=chunk.ints("outstanding_cents"),
        remaining_years=np.maximum(chunk.floats("days_to_maturity"), 0.0) / 365.25,
        annual_rate=np.nan_to_num(chunk.floats("annual_rate")),
    )
    columns.update(
        classification=np.asarray(cls.CATEGORIES, dtype=object)[category], ifrs9_stage=stage.astype(np.float64)
    )
    stats.add_phase("classify", t)

    t = time.perf_counter()
    await _write_chunk(
        session,
        ctx,
        chunk,
        features=(dpd, m3, m6, m12, c30, c60, c90, months_since, open_max),
        scores=scores,
        pd_origination=pd_origination,
        own=own,
        category=category,
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


# The loans of a chunk that need any write, as arrays; every store and event is then one statement.
TMP_LOAN_COLUMNS = (
    ("loan_id", "text"),
    ("customer_id", "text"),
    ("features_moved", "boolean"),
    ("dpd", "int"),
    ("m3", "int"),
    ("m6", "int"),
    ("m12", "int"),
    ("c30", "int"),
    ("c60", "int"),
    ("c90", "int"),
    ("months", "int"),
    ("episode_max", "int"),
    ("write_score", "boolean"),
    ("publish", "boolean"),
    ("pd", "float8"),
    ("score", "int"),
    ("grade", "int"),
    ("r0", "int"),
    ("r1", "int"),
    ("r2", "int"),
    ("pd_origination", "float8"),
    ("published_score", "int"),
    ("published_grade", "text"),
    ("write_class", "boolean"),
    ("announce", "boolean"),
    ("category", "int"),
    ("own_category", "int"),
    ("stage", "int"),
    ("ecl_cents", "bigint"),
    ("reason", "int"),
    ("since_back", "int"),
    ("in_observation", "boolean"),
    ("observation_end", "int"),
    ("prev_category", "int"),
    ("prev_stage", "int"),
)
TMP_LOANS = (
    "CREATE TEMP TABLE IF NOT EXISTS tmp_loans ("
    + ", ".join(f"{name} {type_}" for name, type_ in TMP_LOAN_COLUMNS)
    + ", PRIMARY KEY (loan_id)) ON COMMIT DROP"
)
# Up to three reason codes by index into the model's feature names ($7 or $3).
REASONS_SQL = "array_remove(ARRAY[({p})[r0 + 1], ({p})[r1 + 1], ({p})[r2 + 1]], NULL)"

UPDATE_FEATURES = f"""
UPDATE loan_features f SET dpd = t.dpd, max_dpd_3m = t.m3, max_dpd_6m = t.m6, max_dpd_12m = t.m12,
    episodes_30 = t.c30, episodes_60 = t.c60, episodes_90 = t.c90,
    months_since_delinquency = nullif(t.months, {NULL_INT}),
    episode_max = greatest(f.episode_max, t.episode_max), dirty = false, last_business_date = $1
FROM tmp_loans t WHERE f.loan_id = t.loan_id AND t.features_moved
"""

SCORE_EVENTS = f"""
WITH d AS (
    SELECT loan_id AS subject, json_build_object(
        'loan_id', loan_id, 'customer_id', customer_id, 'score', score, 'pd', round(pd::numeric, 8)::text,
        'grade', ($7::text[])[grade + 1],
        'previous_score', nullif(published_score, {NULL_INT}), 'previous_grade', published_grade,
        'model_version', $8::text,
        'reason_codes', to_json({REASONS_SQL.format(p="$9::text[]")})
    ) AS data
    FROM tmp_loans WHERE publish
)
{_emit(source="d", type_="risk-score-changed", first_param=1)}
"""

CLASS_EVENTS = f"""
WITH d AS (
    SELECT loan_id AS subject, json_build_object(
        'loan_id', loan_id, 'customer_id', customer_id,
        'from_classification', ($7::text[])[prev_category + 1], 'to_classification', ($7::text[])[category + 1],
        'previous_ifrs9_stage', nullif(prev_stage, 0), 'ifrs9_stage', stage,
        'ecl', (ecl_cents::numeric / 100)::numeric(18, 2)::text, 'dpd', dpd, 'reason', ($8::text[])[reason + 1]
    ) AS data
    FROM tmp_loans WHERE announce
)
{_emit(source="d", type_="classification-changed", first_param=1)}
"""

UPSERT_SCORES = f"""
INSERT INTO loan_scores AS s (loan_id, customer_id, pd, score, grade, reason_codes, model_version,
    pd_origination, published_score, published_grade, scored_on, updated_at)
SELECT loan_id, customer_id, round(pd::numeric, 8), score, ($2::text[])[grade + 1],
    {REASONS_SQL.format(p="$3::text[]")}, $4,
    round(pd_origination::numeric, 8),
    CASE WHEN publish THEN score ELSE nullif(published_score, {NULL_INT}) END,
    CASE WHEN publish THEN ($2::text[])[grade + 1] ELSE published_grade END, $1, now()
FROM tmp_loans WHERE write_score OR publish
ON CONFLICT (loan_id) DO UPDATE SET pd = excluded.pd, score = excluded.score, grade = excluded.grade,
    reason_codes = excluded.reason_codes, model_version = excluded.model_version,
    published_score = excluded.published_score, published_grade = excluded.published_grade,
    scored_on = excluded.scored_on, updated_at = now()
"""

UPSERT_CLASSES = """
INSERT INTO classifications AS c (loan_id, customer_id, category, own_category, ifrs9_stage, ecl, reason,
    since, in_observation, observation_end, classified_on, updated_at)
SELECT loan_id, customer_id, ($2::text[])[category + 1], ($2::text[])[own_category + 1], stage, ecl_cents / 100.0,
    ($3::text[])[reason + 1], $1::date - since_back, in_observation,
    CASE WHEN observation_end < 1 THEN NULL ELSE date '0001-01-01' + (observation_end - 1) END, $1, now()
FROM tmp_loans WHERE write_class
ON CONFLICT (loan_id) DO UPDATE SET category = excluded.category, own_category = excluded.own_category,
    ifrs9_stage = excluded.ifrs9_stage, ecl = excluded.ecl, reason = excluded.reason,
    since = excluded.since, in_observation = excluded.in_observation,
    observation_end = excluded.observation_end, classified_on = excluded.classified_on,
    updated_at = now()
"""


async def _write_chunk(
    session: AsyncSession,
    ctx: Context,
    chunk: Chunk,
    *,
    features: tuple[Any, ...],
    scores: Any,
    pd_origination: FloatArray,
    own: IntArray,
    category: IntArray,
    reason: IntArray,
    stage: IntArray,
    ecl: IntArray,
    result: cls.Classified,
) -> None:
    d = ctx.business_date
    model = ctx.model
    raw = await raw_connection(session)
    dpd, m3, m6, m12, c30, c60, c90, months_since, open_max = features

    # Derived features: only rows that moved (or were dirty) are written back.
    stored_months = chunk.floats("smonths")
    features_moved = (
        chunk.flags("dirty")
        | (dpd != chunk.ints("stored_dpd"))
        | (m3 != chunk.ints("s3"))
        | (m6 != chunk.ints("s6"))
        | (m12 != chunk.ints("s12"))
        | (c30 != chunk.ints("s30"))
        | (c60 != chunk.ints("s60"))
        | (c90 != chunk.ints("s90"))
        | (np.isnan(months_since) != np.isnan(stored_months))
        | (np.nan_to_num(months_since) != np.nan_to_num(stored_months))
        | (open_max > chunk.ints("episode_max"))
    )

    # Scores: write the rows whose PD or model moved; publish those that moved beyond the threshold.
    prev_pd = chunk.floats("prev_pd")
    published_score = chunk.floats("published_score")
    write_score = (
        np.isnan(prev_pd) | (np.abs(scores.pd - np.nan_to_num(prev_pd)) > 1e-8) | chunk.flags("version_changed")
    )
    publish = np.isnan(published_score) | (
        np.abs(scores.score - np.nan_to_num(published_score)) >= ctx.settings.score_change_threshold
    )
    publish |= scores.grade != chunk.ints("published_grade_code")

    # Classifications: write what changed; publish category or stage changes (a first classification
    # is published only when it is not normal / stage 1, the state every loan is presumed to start in).
    prev_category = chunk.ints("prev_category")
    prev_stage = chunk.ints("prev_stage")
    prev_ecl = chunk.ints("prev_ecl_cents")
    first = prev_category == cls.NONE
    moved = (category != prev_category) | (stage != prev_stage)
    announce = np.where(first, (category != cls.NORMAL) | (stage != 1), moved)
    ecl_move = np.abs(ecl - prev_ecl)
    ecl_moved = ecl_move > 0 if ctx.exact_ecl else ecl_move >= np.maximum(prev_ecl * ECL_TOLERANCE, ECL_MIN_MOVE_CENTS)
    in_observation = np.asarray(result.in_observation, dtype=np.bool_)
    # A loan whose score is rewritten has its ECL rewritten too, so the two never disagree in PD.
    write_class = (
        first
        | moved
        | (own != chunk.ints("prev_own"))
        | (in_observation != chunk.flags("prev_obs"))
        | ((ecl != prev_ecl) & (ecl_moved | write_score))
    )
    since_back = np.where(first | (category != prev_category), 0, chunk.ints("days_since_class"))

    stats = ctx.stats
    stats.scores_written += int(np.count_nonzero(write_score | publish))
    stats.score_events += int(np.count_nonzero(publish))
    stats.classifications_written += int(np.count_nonzero(write_class))
    stats.classification_events += int(np.count_nonzero(announce))
    rows = np.flatnonzero(features_moved | write_score | publish | write_class)
    if not len(rows):
        return
    reasons = scores.reasons
    if reasons.shape[1] < 3:
        reasons = np.hstack([reasons, np.full((len(reasons), 3 - reasons.shape[1]), -1, dtype=np.int64)])
    loan_ids = chunk.text("loan_id")
    customer_ids = chunk.text("customer_id")
    published_grade = chunk.text("published_grade")
    observation_end = np.asarray(result.observation_end, dtype=np.int64)

    def pick(values: Any) -> list[Any]:
        return np.asarray(values)[rows].tolist()

    t = time.perf_counter()
    await raw.execute(TMP_LOANS)
    await raw.execute("TRUNCATE tmp_loans")
    values = (
        [loan_ids[i] for i in rows.tolist()],
        [customer_ids[i] for i in rows.tolist()],
        pick(features_moved),
        pick(dpd),
        pick(m3),
        pick(m6),
        pick(m12),
        pick(c30),
        pick(c60),
        pick(c90),
        pick(np.where(np.isnan(months_since), NULL_INT, np.nan_to_num(months_since)).astype(np.int64)),
        pick(open_max),
        pick(write_score),
        pick(publish),
        pick(scores.pd),
        pick(scores.score.astype(np.int64)),
        pick(scores.grade.astype(np.int64)),
        pick(reasons[:, 0]),
        pick(reasons[:, 1]),
        pick(reasons[:, 2]),
        pick(pd_origination),
        pick(np.where(np.isnan(published_score), NULL_INT, np.nan_to_num(published_score)).astype(np.int64)),
        [published_grade[i] for i in rows.tolist()],
        pick(write_class),
        pick(announce),
        pick(category.astype(np.int64)),
        pick(own.astype(np.int64)),
        pick(stage.astype(np.int64)),
        pick(ecl.astype(np.int64)),
        pick(reason.astype(np.int64)),
        pick(since_back),
        pick(in_observation),
        pick(np.where(observation_end == cls.NONE, 0, observation_end)),
        pick(prev_category),
        pick(prev_stage),
    )
    await copy_rows(raw, "tmp_loans", [name for name, _ in TMP_LOAN_COLUMNS], zip(*values, strict=True))
    # The row count is what the joins below need; one column keeps ANALYZE cheap.
    await raw.execute("ANALYZE tmp_loans (loan_id)")
    stats.add_phase("write_load", t)
    grades = [g for g, _ in model.grades]
    reason_names = [b.feature for b in model.bins]
    t = time.perf_counter()
    await raw.execute(UPDATE_FEATURES, d)
    stats.add_phase("write_features", t)
    t = time.perf_counter()
    if publish.any():
        await raw.execute(
            SCORE_EVENTS,
            *_envelope_params(d, ctx.correlation, "risk-score-changed"),
            grades,
            model.version,
            reason_names,
        )
    if announce.any():
        await raw.execute(
            CLASS_EVENTS,
            *_envelope_params(d, ctx.correlation, "classification-changed"),
            list(cls.CATEGORIES),
            list(cls.REASONS),
        )
    stats.add_phase("write_events", t)
    t = time.perf_counter()
    if (write_score | publish).any():
        await raw.execute(UPSERT_SCORES, d, grades, reason_names, model.version)
    stats.add_phase("write_scores", t)
    t = time.perf_counter()
    if write_class.any():
        await raw.execute(UPSERT_CLASSES, d, list(cls.CATEGORIES), list(cls.REASONS))
    stats.add_phase("write_classes", t)
    # Customers whose loans changed anything are re-aggregated after the loans.
    await raw.execute("INSERT INTO touched_customers SELECT DISTINCT customer_id FROM tmp_loans ON CONFLICT DO NOTHING")


async def refresh_customers(session: AsyncSession, *, business_date: date) -> int:
    """Re-aggregate the customer features and scores of the customers touched in this run; return how many."""
    raw = await raw_connection(session)
    # The planner needs the size of the touched set to choose between index lookups and one hash join.
    await raw.execute("ANALYZE touched_customers")
    touched = int(await raw.fetchval("SELECT count(*) FROM touched_customers"))
    if not touched:
        return 0
    await raw.execute(
        """INSERT INTO customer_features AS cf (customer_id, segment, loan_count, outstanding, npl_outstanding,
               max_dpd, broken_promises, updated_at)
           SELECT f.customer_id, max(f.segment), count(*), sum(f.outstanding),
               coalesce(sum(f.outstanding) FILTER (WHERE c.category IN ('substandard', 'doubtful', 'loss')), 0),
               max(f.dpd), sum(f.broken_promises), now()
           FROM touched_customers t
           JOIN loan_features f ON f.customer_id = t.customer_id
           LEFT JOIN classifications c ON c.loan_id = f.loan_id
           WHERE f.status = 'active'
           GROUP BY f.customer_id
           ON CONFLICT (customer_id) DO UPDATE SET segment = excluded.segment, loan_count = excluded.loan_count,
               outstanding = excluded.outstanding, npl_outstanding = excluded.npl_outstanding,
               max_dpd = excluded.max_dpd, broken_promises = excluded.broken_promises, updated_at = now()
           WHERE (cf.segment, cf.loan_count, cf.outstanding, cf.npl_outstanding, cf.max_dpd, cf.broken_promises)
               IS DISTINCT FROM (excluded.segment, excluded.loan_count, excluded.outstanding,
                   excluded.npl_outstanding, excluded.max_dpd, excluded.broken_promises)"""
    )
    # A customer's score is that of their riskiest active loan.
    await raw.execute(
        """INSERT INTO customer_scores AS cs (customer_id, pd, score, grade, reason_codes, model_version, scored_on)
           SELECT DISTINCT ON (s.customer_id) s.customer_id, s.pd, s.score, s.grade, s.reason_codes, s.model_version, $1
           FROM touched_customers t
           JOIN loan_scores s ON s.customer_id = t.customer_id
           JOIN loan_features f ON f.loan_id = s.loan_id
           WHERE f.status = 'active'
           ORDER BY s.customer_id, s.pd DESC
           ON CONFLICT (customer_id) DO UPDATE SET pd = excluded.pd, score = excluded.score, grade = excluded.grade,
               reason_codes = excluded.reason_codes, model_version = excluded.model_version,
               scored_on = excluded.scored_on, updated_at = now()
           WHERE (cs.pd, cs.score, cs.grade, cs.reason_codes, cs.model_version)
               IS DISTINCT FROM (excluded.pd, excluded.score, excluded.grade, excluded.reason_codes,
                   excluded.model_version)""",
        business_date,
    )
    return touched


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
