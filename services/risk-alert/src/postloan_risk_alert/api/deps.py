"""What every risk-alert router depends on: the role sets and the app's settings."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from postloan_common.web import Principal, require_roles
from postloan_risk_alert.settings import Settings

Reader = Depends(require_roles("risk_officer", "analyst", "supervisor", "collector", "system"))
Officer = Depends(require_roles("risk_officer"))
# The risk officer acting (alerts, rules): who it is, for the audit row and the history.
OfficerPrincipal = Annotated[Principal, Officer]
Assessor = Depends(require_roles("risk_officer", "system"))
# Who registers (Keeper) and reads (SupportReader) the loans' credit support: collateral and guarantees.
Keeper = Depends(require_roles("risk_officer", "relationship_manager", "system"))
SupportReader = Depends(require_roles("risk_officer", "relationship_manager", "supervisor", "analyst", "system"))
# Model performance reads labelled history: risk officers and admins only (issue 13 item 9c).
ModelAuditor = Depends(require_roles("risk_officer", "admin"))


def get_settings(request: Request) -> Settings:
    """The service settings the app was built with."""
    return cast(Settings, request.app.state.settings)


ServiceConfig = Annotated[Settings, Depends(get_settings)]
