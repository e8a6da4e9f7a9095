"""Close of day: refresh time-dependent features, re-score, re-classify, evaluate rules, publish changes.

Set-based throughout: feature rows are read in chunks as packed column arrays (one row per chunk,
store/loan_reads.py), scored and classified with numpy here, and handed back as arrays to one temporary
table per chunk (service/chunk_writes.py), from which single statements update the stores and build the
outbox events (store/loan_writes.py); one statement over the book emits the secured values that moved
(store/coverage.py). Only rows that changed are written; events go to the outbox in
the same transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_common.logging import get_logger
from postloan_risk_alert.domain import classification as cls
from postloan_risk_alert.domain import collateral, features, ifrs9, judgement
from postloan_risk_alert.domain.alerts import AlertBook
from postloan_risk_alert.domain.scoring import Scorecard, columns_matrix, score_matrix
from postloan_risk_alert.service import models
from postloan_risk_alert.service.alert_rules import apply_rules, evaluate_customer_rules
from postloan_risk_alert.service.chunk_writes import write_chunk
from postloan_risk_alert.service.model_evaluation import evaluate_and_store
from postloan_risk_alert.service.review_scheduling import schedule_reviews
from postloan_risk_alert.service.signal_features import signal_columns
from postloan_risk_alert.settings import Settings
from postloan_risk_alert.store.alert_store import enabled_rules, load_alert_book
from postloan_risk_alert.store.coverage import emit_coverage_changes
from postloan_risk_alert.store.customers import refresh_customers, snapshot_features
from postloan_risk_alert.store.loan_reads import FETCH, Chunk
from postloan_risk_alert.store.proposals import lapse_judgements

log = get_logger(__name__)

__all__ = ["Context", "RunStats", "evaluate_customer_rules", "rescore"]


@dataclass
class RunStats:
    business_date: date
    loans: int = 0
    scores_written: int = 0
    classifications_written: int = 0
    score_events: int = 0
    classification_events: int = 0
    coverage_events: int = 0
    alerts_raised: int = 0
    alerts_resolved: int = 0
    customers: int = 0
    reviews_created: int = 0
    reviews_overdue: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)

    def add_phase(self, name: str, started: float) -> None:
        self.phases[name] = round(self.phases.get(name, 0.0) + time.perf_counter() - started, 4)

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items()}


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
    raw = await driver_connection(session)
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
    stats.coverage_events = await emit_coverage_changes(
        session, business_date=business_date, correlation=correlation_id
    )
    stats.add_phase("coverage", t)
    await lapse_judgements(session)
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
    # After the alerts and classifications of the day, which are review triggers.
    t = time.perf_counter()
    reviewed = await schedule_reviews(session, business_date=business_date, correlation_id=correlation_id)
    stats.reviews_created, stats.reviews_overdue = reviewed.created, reviewed.overdue
    stats.add_phase("reviews", t)
    if month_end:
        t = time.perf_counter()
        await snapshot_features(session, as_of=business_date)
        stats.add_phase("snapshot", t)
        # Labels only grow when a month-end snapshot comes of age: evaluate the models then, not per request.
        t = time.perf_counter()
        await evaluate_and_store(session)
        stats.add_phase("evaluate_models", t)
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
    open_max = features.open_max(
        open_episode=chunk.flags("open_episode"), episode_max=chunk.ints("episode_max"), dpd=dpd
    )
    m3 = np.maximum(chunk.ints("m3"), open_max)
    m6 = np.maximum(chunk.ints("m6"), open_max)
    m12 = np.maximum(chunk.ints("m12"), open_max)
    c30 = chunk.ints("c30") + (open_max > 30)
    c60 = chunk.ints("c60") + (open_max > 60)
    c90 = chunk.ints("c90") + (open_max > 90)
    days_since_cure = chunk.floats("days_since_cure")
    months_since = features.months_since(dpd=dpd, days_since_cure=days_since_cure)
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
        "paid_due_ratio": features.paid_due_ratio(
            amount_paid=chunk.floats("amount_paid"), amount_due=chunk.floats("amount_due")
        ),
        "partial_share": features.ratio(chunk.floats("partial_payments"), chunk.floats("payments_count")),
        "missed_count": chunk.floats("missed_count"),
        "consecutive_misses": chunk.floats("consecutive_misses"),
        "broken_promises": chunk.floats("broken_promises"),
        "promises_kept": chunk.floats("promises_kept"),
        "negative_contact_share": features.ratio(chunk.floats("contacts_negative"), chunk.floats("contacts")),
        "restructured": restructured.astype(np.float64),
        "debt_ratio": chunk.floats("debt_ratio"),
        "current_ratio": chunk.floats("current_ratio"),
        "interest_coverage": chunk.floats("interest_coverage"),
        "revenue_change": chunk.floats("revenue_change"),
        "outstanding": chunk.floats("outstanding"),
        "overdue": chunk.floats("overdue"),
        "ltv": chunk.floats("outstanding") / chunk.floats("collateral_appraised"),
        "valuation_stale": chunk.ints("valuation_stale").astype(np.float64),
        "insurance_expiring": chunk.ints("insurance_expiring").astype(np.float64),
        "guarantor_dpd": chunk.ints("guarantor_dpd").astype(np.float64),
        "guarantor_npl": chunk.ints("guarantor_npl").astype(np.float64),
        "guarantee_expired": chunk.ints("guarantee_expired").astype(np.float64),
        **await signal_columns(session, customer_ids=customer_ids, business_date=d),
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
    category, reason, _ = judgement.apply_judgement(category, reason, chunk.ints("judged"))
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
    lgd = _with_collateral(chunk, columns, lgd, lgd_of, products, i9)
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
    await write_chunk(
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


def _with_collateral(
    chunk: Chunk,
    columns: dict[str, Any],
    lgd: Any,
    lgd_of: dict[tuple[str, str], float],
    products: list[str],
    i9: ifrs9.Ifrs9Policy,
) -> Any:
    """The LGD with the loan's collateral: its secured part at the kinds' LGD, the rest unsecured."""
    secured = chunk.floats("collateral_value")
    linked = ~np.isnan(secured)
    if not linked.any():
        return lgd
    unsecured = np.where(
        linked,
        [lgd_of.setdefault((p, "none"), i9.lgd_for(p, "none")) for p in products],
        lgd,
    )
    return collateral.blended_lgd(
        exposure=columns["outstanding"],
        secured_value=np.nan_to_num(secured),
        secured_loss=chunk.floats("collateral_loss"),
        unsecured_lgd=unsecured,
    )
