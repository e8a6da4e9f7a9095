"""The risk-alert API: `uvicorn postloan_risk_alert.main:create_app --factory`."""

from __future__ import annotations

from fastapi import FastAPI

from postloan_common import web
from postloan_risk_alert.api import (
    alerts,
    assessment_reads,
    assessments,
    collateral,
    external_signals,
    fund_flows,
    fund_trace,
    fund_use,
    guarantees,
    models,
    proposals,
    reviews,
    risk,
    rules,
)
from postloan_risk_alert.settings import Settings

ROUTERS = (
    risk.router,
    assessments.router,
    rules.router,
    alerts.router,
    models.router,
    reviews.router,
    assessment_reads.router,
    proposals.router,
    collateral.router,
    guarantees.router,
    fund_flows.router,
    fund_use.router,
    fund_trace.router,
    external_signals.router,
)


def create_app() -> FastAPI:
    """Build the risk-alert API from the environment's settings."""
    return web.create_app(settings=Settings(), title="postloan risk-alert", routers=ROUTERS)
