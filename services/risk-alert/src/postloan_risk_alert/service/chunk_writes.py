"""Decide which rows of a scored chunk changed (features, scores, classifications, events) and write them."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.db import driver_connection
from postloan_risk_alert.domain import classification as cls
from postloan_risk_alert.store.bulk import copy_rows
from postloan_risk_alert.store.events import envelope_params
from postloan_risk_alert.store.loan_reads import Chunk
from postloan_risk_alert.store.loan_writes import (
    CLASS_EVENTS,
    NULL_INT,
    SCORE_EVENTS,
    TMP_LOAN_COLUMNS,
    TMP_LOANS,
    UPDATE_FEATURES,
    UPSERT_CLASSES,
    UPSERT_SCORES,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Stored ECL drifts a little every day (the horizon shortens), so a loan whose category, stage and
# score did not move has its ECL rewritten only once it has moved by this share (and at least by
# ECL_MIN_MOVE_CENTS); at month end, the reporting date, every ECL is rewritten exactly.
ECL_TOLERANCE = 0.05
ECL_MIN_MOVE_CENTS = 100


async def write_chunk(
    session: AsyncSession,
    ctx: Any,
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
    raw = await driver_connection(session)
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
            *envelope_params(d, ctx.correlation, "risk-score-changed"),
            grades,
            model.version,
            reason_names,
        )
    if announce.any():
        await raw.execute(
            CLASS_EVENTS,
            *envelope_params(d, ctx.correlation, "classification-changed"),
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
