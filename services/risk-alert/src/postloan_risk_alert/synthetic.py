"""A seeded synthetic loan book with a known default mechanism, for the default model and tests.

Each loan has a latent quality z. Its repayment behaviour (DPD history, misses, promises, contact
outcomes, assessment ratios) is drawn from z, and its 12-month default (90+ DPD) from

    logit(PD) = -4.6 + 0.035·max_dpd_12m + 0.45·broken_promises + 0.55·consecutive_misses
                + 1.5·(1 − paid_due_ratio) + 0.7·restructured + 0.4·z

so max_dpd_12m is the main observable driver and z adds what behaviour does not show.
"""

from __future__ import annotations

import numpy as np

from postloan_risk_alert.domain.training import Dataset

MECHANISM = {
    "intercept": -4.6,
    "max_dpd_12m": 0.035,
    "broken_promises": 0.45,
    "consecutive_misses": 0.55,
    "arrears_share": 1.5,
    "restructured": 0.7,
    "latent": 0.4,
}


def generate(n: int, *, seed: int = 20260101, driver_weight: float = MECHANISM["max_dpd_12m"]) -> Dataset:
    """`n` loans' features and default outcomes drawn with the mechanism above."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    propensity = np.exp(-1.4 + 0.9 * z)
    delinquent = rng.poisson(propensity)
    e30 = rng.binomial(delinquent, 0.45)
    e60 = rng.binomial(e30, 0.45)
    e90 = rng.binomial(e60, 0.35)
    max12 = np.where(
        e90 > 0,
        91 + rng.exponential(40, n),
        np.where(
            e60 > 0,
            rng.uniform(61, 90, n),
            np.where(e30 > 0, rng.uniform(31, 60, n), np.where(delinquent > 0, rng.uniform(1, 30, n), 0)),
        ),
    ).round()
    max6 = np.where(rng.random(n) < 0.65, max12, (max12 * rng.uniform(0, 1, n)).round())
    max3 = np.where(rng.random(n) < 0.6, max6, (max6 * rng.uniform(0, 1, n)).round())
    dpd = np.where(rng.random(n) < 0.45, max3, 0.0)
    months_since = np.where(max12 > 0, np.where(dpd > 0, 0, rng.integers(1, 12, n)), np.nan)
    missed = rng.poisson(propensity * 1.3).astype(np.float64)
    consecutive = np.minimum(missed, rng.poisson(propensity * 0.5)).astype(np.float64)
    promises = rng.poisson(propensity * 0.8)
    broken = rng.binomial(promises, np.clip(0.25 + 0.15 * z, 0.02, 0.95)).astype(np.float64)
    arrears_share = np.clip(rng.beta(1, 12, n) * np.exp(0.6 * z), 0, 1)
    paid_due = 1 - arrears_share
    partial = np.clip(rng.beta(1, 6, n) * np.exp(0.4 * z), 0, 1)
    contacts = rng.poisson(propensity * 2)
    negative = np.where(
        contacts > 0, rng.binomial(contacts, np.clip(0.2 + 0.1 * z, 0.01, 0.9)) / np.maximum(contacts, 1), np.nan
    )
    restructured = (rng.random(n) < 0.02 + 0.04 / (1 + np.exp(-z))).astype(np.float64)
    corporate = rng.random(n) < 0.2
    debt_ratio = np.where(corporate, np.clip(rng.normal(0.55 + 0.1 * z, 0.15), 0.05, 1.5), np.nan)
    current_ratio = np.where(corporate, np.clip(rng.normal(1.5 - 0.25 * z, 0.4), 0.1, 5), np.nan)
    revenue_change = np.where(corporate, rng.normal(0.05 - 0.08 * z, 0.15), np.nan)
    logit = (
        MECHANISM["intercept"]
        + driver_weight * max12
        + MECHANISM["broken_promises"] * broken
        + MECHANISM["consecutive_misses"] * consecutive
        + MECHANISM["arrears_share"] * arrears_share
        + MECHANISM["restructured"] * restructured
        + MECHANISM["latent"] * z
    )
    outcome = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    columns = {
        "dpd": dpd,
        "max_dpd_3m": max3,
        "max_dpd_6m": max6,
        "max_dpd_12m": max12,
        "episodes_30": e30.astype(np.float64),
        "episodes_60": e60.astype(np.float64),
        "episodes_90": e90.astype(np.float64),
        "months_since_delinquency": months_since.astype(np.float64),
        "paid_due_ratio": paid_due,
        "partial_share": partial,
        "missed_count": missed,
        "consecutive_misses": consecutive,
        "broken_promises": broken,
        "negative_contact_share": negative,
        "restructured": restructured,
        "debt_ratio": debt_ratio,
        "current_ratio": current_ratio,
        "revenue_change": revenue_change,
    }
    return Dataset({k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}, outcome)
