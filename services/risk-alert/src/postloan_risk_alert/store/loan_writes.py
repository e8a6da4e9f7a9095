"""The close-of-day writes: a chunk's changed loans in a temporary table, then one statement per store and event."""

from __future__ import annotations

from postloan_risk_alert.store.events import emit_sql

# A stand-in for NULL in integer arrays sent to PostgreSQL (turned back with NULLIF).
NULL_INT = -2147483648

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
{emit_sql(source="d", type_="risk-score-changed", first_param=1)}
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
{emit_sql(source="d", type_="classification-changed", first_param=1)}
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
