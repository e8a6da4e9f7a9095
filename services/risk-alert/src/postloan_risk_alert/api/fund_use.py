"""Fund-use policies as data (`GET|PUT /v1/fund-use-policies/{purpose}`): risk officers and admins."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from postloan_common.contracts import CounterpartyKind, LoanPurpose, Money
from postloan_common.contracts.fund_flows import Category
from postloan_common.web import CorrelationId, DbSession, require_roles
from postloan_common.web.openapi import problems
from postloan_common.web.request_bodies import request_body
from postloan_risk_alert.domain import fund_use
from postloan_risk_alert.service.fund_use_policies import StoredPolicy, get_policy, put_policy

router = APIRouter(prefix="/v1", tags=["fund-use"])
PolicyOfficer = Depends(require_roles("risk_officer"))

Share = Annotated[Decimal, Field(ge=0, le=1, max_digits=6, decimal_places=4)]
Days = Annotated[int, Field(ge=1, le=3660)]


class FundUsePolicyIn(BaseModel):
    """A purpose's fund-use policy; the defaults are those of a purpose never set."""

    model_config = request_body(
        {
            "forbidden_counterparty_kinds": ["securities_broker", "real_estate", "lender"],
            "forbidden_categories": ["7995", "6051"],
            "company_counterparty_limit": None,
            "traced_share": "0.80",
            "trace_window_days": 30,
            "trace_retail": False,
            "max_flow_back_share": "0.10",
            "flow_back_window_days": 90,
            "splitting_threshold": "50000.00",
            "splitting_margin": "0.05",
            "splitting_count": 3,
            "splitting_window_days": 7,
        }
    )

    forbidden_counterparty_kinds: list[CounterpartyKind] = Field(max_length=20)
    forbidden_categories: list[Category] = Field(max_length=500)
    company_counterparty_limit: Money | None = None
    traced_share: Share
    trace_window_days: Days
    trace_retail: bool = False
    max_flow_back_share: Share
    flow_back_window_days: Days
    splitting_threshold: Money
    splitting_margin: Share
    splitting_count: int = Field(ge=2, le=1000)
    splitting_window_days: Days


class FundUsePolicyOut(FundUsePolicyIn):
    model_config = ConfigDict(extra="ignore")

    purpose: LoanPurpose
    version: int = Field(description="0 while the purpose has its defaults")
    updated_by: str | None
    updated_at: datetime | None


def _out(stored: StoredPolicy) -> FundUsePolicyOut:
    values: dict[str, Any] = fund_use.policy_to_json(stored.policy)
    return FundUsePolicyOut(
        **values,
        purpose=LoanPurpose(stored.purpose),
        version=stored.version,
        updated_by=stored.updated_by,
        updated_at=stored.updated_at,
    )


@router.get(
    "/fund-use-policies/{purpose}",
    response_model=FundUsePolicyOut,
    dependencies=[PolicyOfficer],
    responses=problems(422),
)
async def read_fund_use_policy(purpose: LoanPurpose, session: DbSession) -> FundUsePolicyOut:
    """The purpose's fund-use policy (its defaults until one is set)."""
    async with session.begin():
        return _out(await get_policy(session, purpose=purpose.value))


@router.put(
    "/fund-use-policies/{purpose}",
    response_model=FundUsePolicyOut,
    responses=problems(422),
)
async def replace_fund_use_policy(
    purpose: LoanPurpose,
    body: FundUsePolicyIn,
    session: DbSession,
    principal: Annotated[Any, PolicyOfficer],
    correlation_id: CorrelationId,
) -> FundUsePolicyOut:
    """Replace the purpose's fund-use policy; audited, its version goes up."""
    policy = fund_use.policy_from_json(body.model_dump(mode="json"))
    async with session.begin():
        stored = await put_policy(
            session, purpose=purpose.value, policy=policy, actor=principal.subject, correlation_id=correlation_id
        )
    return _out(stored)
