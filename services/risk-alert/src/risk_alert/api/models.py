"""Model versions and their performance (`/v1/models`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter
from prometheus_client import Gauge
from sqlalchemy import select

from postloan_common.web import DbSession, ProblemError
from risk_alert.api.deps import Reader
from risk_alert.api.schemas import (
    ModelsOut,
    PerformanceOut,
)
from risk_alert.domain import training
from risk_alert.service import history, models
from risk_alert.store.tables import (
    loan_scores,
)

router = APIRouter(prefix="/v1")


MODEL_AUC = Gauge("risk_model_auc", "AUC of a model version on labelled own history", ["version"])
MODEL_KS = Gauge("risk_model_ks", "KS of a model version on labelled own history", ["version"])
MODEL_PSI = Gauge("risk_model_psi", "PSI of current scores against a model version's training scores", ["version"])


@router.get("/models", response_model=ModelsOut, tags=["models"], dependencies=[Reader])
async def list_models(session: DbSession) -> dict[str, Any]:
    """Every model version with its status and hold-out metrics."""
    async with session.begin():
        items = await models.listing(session)
    return {
        "items": [
            {**m, "auc": m["metrics"].get("auc"), "ks": m["metrics"].get("ks"), "gini": m["metrics"].get("gini")}
            for m in items
        ]
    }


@router.get("/models/{version}/performance", response_model=PerformanceOut, tags=["models"], dependencies=[Reader])
async def model_performance(version: str, session: DbSession) -> dict[str, Any]:
    """AUC and KS on labelled own history, and PSI of current scores against the version's training scores."""
    async with session.begin():
        found = await models.artifact_of(session, version)
        if found is None:
            raise ProblemError(404, "Model not found", f"model {version} does not exist")
        model, metrics = found
        status_ = (
            await session.execute(select(models.models.c.status).where(models.models.c.version == version))
        ).scalar()
        scores = [
            float(s)
            for (s,) in await session.execute(select(loan_scores.c.score).where(loan_scores.c.model_version == version))
        ]
        labelled = await history.training_rows(session)
    reference = model.training.get("holdout", {}).get("score_distribution") or metrics.get("score_distribution")
    psi = training.psi(reference, np.asarray(scores)) if reference and scores else None
    observed = (
        training.evaluate(model, labelled) if len(labelled) and 0 < labelled.outcome.sum() < len(labelled) else None
    )
    if observed:
        MODEL_AUC.labels(version).set(observed["auc"])
        MODEL_KS.labels(version).set(observed["ks"])
    if psi is not None:
        MODEL_PSI.labels(version).set(psi)
    return {
        "version": version,
        "status": status_,
        "training_auc": metrics.get("auc"),
        "training_ks": metrics.get("ks"),
        "training_gini": metrics.get("gini"),
        "auc": observed["auc"] if observed else None,
        "ks": observed["ks"] if observed else None,
        "labelled_rows": len(labelled),
        "psi": psi,
        "scored_loans": len(scores),
        "calibration": observed["calibration"] if observed else metrics.get("calibration", []),
    }
