"""Model versions and their performance (`/v1/models`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter
from prometheus_client import Gauge

from postloan_common.web import DbSession, ProblemError
from postloan_common.web.openapi import problems
from postloan_risk_alert.api.deps import ModelAuditor, Reader
from postloan_risk_alert.api.schemas import (
    ModelsOut,
    PerformanceOut,
)
from postloan_risk_alert.domain import training
from postloan_risk_alert.service import models
from postloan_risk_alert.store import model_evaluations

router = APIRouter(prefix="/v1", tags=["models"])


MODEL_AUC = Gauge("risk_model_auc", "AUC of a model version on labelled own history", ["version"])
MODEL_KS = Gauge("risk_model_ks", "KS of a model version on labelled own history", ["version"])
MODEL_PSI = Gauge("risk_model_psi", "PSI of current scores against a model version's training scores", ["version"])


@router.get(
    "/models",
    response_model=ModelsOut,
    dependencies=[Reader],
    operation_id="listModels",
    responses=problems(401, 403),
)
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


@router.get(
    "/models/{version}/performance",
    response_model=PerformanceOut,
    dependencies=[ModelAuditor],
    operation_id="getModelPerformance",
    responses=problems(401, 403, 404, 422),
)
async def model_performance(version: str, session: DbSession) -> dict[str, Any]:
    """AUC and KS on labelled own history (as last evaluated), and PSI of current scores against training scores."""
    async with session.begin():
        found = await models.artifact_of(session, version)
        if found is None:
            raise ProblemError(404, "Model not found", f"model {version} does not exist")
        model, metrics = found
        status_ = await model_evaluations.status_of(session, version)
        evaluation = await model_evaluations.latest(session, version)
        scores = await model_evaluations.current_scores(session, version)
    reference = model.training.get("holdout", {}).get("score_distribution") or metrics.get("score_distribution")
    psi = training.psi(reference, np.asarray(scores)) if reference and scores else None
    auc = evaluation["auc"] if evaluation else None
    ks = evaluation["ks"] if evaluation else None
    if auc is not None and ks is not None:
        MODEL_AUC.labels(version).set(auc)
        MODEL_KS.labels(version).set(ks)
    if psi is not None:
        MODEL_PSI.labels(version).set(psi)
    calibration = evaluation["calibration"] if evaluation and evaluation["calibration"] is not None else None
    return {
        "version": version,
        "status": status_,
        "training_auc": metrics.get("auc"),
        "training_ks": metrics.get("ks"),
        "training_gini": metrics.get("gini"),
        "auc": auc,
        "ks": ks,
        "labelled_rows": evaluation["labelled_rows"] if evaluation else 0,
        "evaluated_at": evaluation["evaluated_at"] if evaluation else None,
        "psi": psi,
        "scored_loans": len(scores),
        "calibration": calibration if calibration is not None else metrics.get("calibration", []),
    }
