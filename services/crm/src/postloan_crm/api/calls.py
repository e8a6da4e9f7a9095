"""Telephony: click-to-call through the CTI provider and the provider's signed result callback (issue 16 item 3)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from postloan_common.contracts import ContactOutcome
from postloan_common.web import CorrelationId, DbSession, Principal, ProblemError, Role, authenticate
from postloan_common.web.auth import TokenVerifier
from postloan_common.web.auth import _verifier as token_verifier  # the app's verifier, as authenticate gets it
from postloan_common.web.openapi import problems
from postloan_common.web.request_bodies import inlined_schema
from postloan_crm.adapters.channels import SendError
from postloan_crm.adapters.telephony import CtiWebhook, Dialler
from postloan_crm.adapters.webhook import provider_webhook
from postloan_crm.api.deps import Caller, Now, ServiceConfig, caller_with, contact_rule_problem, known_customer
from postloan_crm.api.present import mask_recipient
from postloan_crm.api.schemas import Id, _In
from postloan_crm.domain.access import CaseScope
from postloan_crm.domain.telephony import callback_refusal
from postloan_crm.service import audit
from postloan_crm.service import calls as call_service
from postloan_crm.service.events import Trace
from postloan_crm.service.interactions import ContactRefused
from postloan_crm.settings import Settings
from postloan_crm.store import calls as call_rows
from postloan_crm.store import cases as case_rows
from postloan_crm.store.access import case_visible

router = APIRouter(tags=["calls"])
AGENTS = ("collector", "supervisor", "admin")
Agent = Annotated[Caller, Depends(caller_with(*AGENTS))]
SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"
_bearer = HTTPBearer(auto_error=False)


class CallIn(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{"case_id": "CASE-0190a1b2", "phone": 0}]})

    case_id: Id
    # An index into the customer's phones as GET /v1/customers/{id} lists them (masked): never a raw number.
    phone: int = Field(ge=0, le=50)


class CallResultIn(_In):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"connected": True, "duration_s": 95, "outcome": "promise_to_pay", "recording_ref": "rec-20260310-1"}
            ]
        },
    )

    connected: bool
    duration_s: int = Field(ge=0, le=86400)
    outcome: ContactOutcome
    recording_ref: Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")] | None = None


class CallOut(BaseModel):
    """A call attempt."""

    call_id: str
    case_id: str
    customer_id: str
    phone: str | None
    mode: Literal["cti", "manual"]
    status: Literal["requested", "dialling", "failed", "completed"]
    requested_at: datetime
    error: str | None = None
    interaction_id: str | None = None


def dialler(settings: Settings) -> Dialler | None:
    """The configured CTI provider, or None (calls are then manual)."""
    if not settings.cti_webhook_url:
        return None
    return provider_webhook(CtiWebhook, settings.cti_webhook_url, settings)


def get_dialler(settings: ServiceConfig) -> Dialler | None:
    """A dependency, so tests can stand in for the provider."""
    return dialler(settings)


async def _acting_on(session: DbSession, case_id: str, scope: CaseScope | None) -> dict:
    """The open case the caller may act on: 404 unknown, 403 not theirs, 409 closed."""
    case = await case_rows.load_case(session, case_id)
    if case is None:
        raise ProblemError(404, "Case not found", f"case {case_id} is not known")
    if not await case_visible(session, case_id=case_id, scope=scope):
        raise ProblemError(403, "Forbidden", f"case {case_id} is not assigned to you or your team")
    if case["status"] != "open":
        raise ProblemError(409, "Case closed", f"case {case_id} is {case['status']}")
    return case


def _view(row: dict, *, number: str | None, principal: Principal | None) -> CallOut:
    phone = mask_recipient(number, principal=principal) if principal is not None and number else None
    return CallOut(**{k: row.get(k) for k in CallOut.model_fields if k != "phone"}, phone=phone)


@router.post(
    "/calls",
    status_code=status.HTTP_201_CREATED,
    response_model=CallOut,
    operation_id="createCall",
    responses=problems(401, 403, 404, 409, 422),
)
async def post_call(
    body: CallIn,
    session: DbSession,
    caller: Agent,
    correlation_id: CorrelationId,
    now: Now,
    cti: Annotated[Dialler | None, Depends(get_dialler)],
) -> CallOut:
    """Dial the customer of a case for the collector; 409 naming the contact rule a call now would break."""
    principal = caller.principal
    async with session.begin():
        case = await _acting_on(session, body.case_id, caller.scope)
        customer = await known_customer(session, case["customer_id"], lock=True)
        try:
            row, number = await call_service.start_call(
                session,
                case=case,
                customer=customer,
                phone_index=body.phone,
                agent_id=principal.subject,
                mode="manual" if cti is None else "cti",
                now=now,
            )
        except LookupError as exc:
            raise ProblemError(422, "Invalid call", str(exc)) from exc
        except ContactRefused as exc:
            raise contact_rule_problem(exc) from exc
        await audit.record(
            session,
            actor=principal.subject,
            action="call.start",
            subject=customer.customer_id,
            details={"call_id": row["call_id"], "case_id": case["case_id"], "mode": row["mode"]},
            correlation_id=correlation_id,
        )
    if cti is not None:
        # Dialled after the attempt is committed, so a provider that answers slowly holds no locks.
        provider_id, error = None, None
        try:
            provider_id = await cti.dial(call_id=row["call_id"], agent_id=principal.subject, number=number)
        except SendError as exc:
            error = str(exc)
        async with session.begin():
            row = await call_service.note_dial(
                session, call_id=row["call_id"], provider_call_id=provider_id, error=error
            )
    return _view(row, number=number, principal=principal)


async def _callback_principal(
    request: Request,
    verifier: TokenVerifier,
    credentials: HTTPAuthorizationCredentials | None,
    body: bytes,
    now: datetime,
) -> Principal | None:
    """None for a provider callback with a good signature; else the agent posting a manual call's result.

    A signed request is the provider's (bad, missing or replayed signature: 401); an unsigned one needs a
    bearer token with an agent role (401 without, 403 without the role).
    """
    crm_settings: Settings = request.app.state.settings
    if request.headers.get(SIGNATURE_HEADER) is not None:
        secret = crm_settings.cti_callback_secret
        refusal = (
            callback_refusal(
                secret.get_secret_value(),
                given=request.headers.get(SIGNATURE_HEADER),
                timestamp=request.headers.get(TIMESTAMP_HEADER),
                body=body,
                now=now,
            )
            if secret is not None
            else "no callback secret is configured"
        )
        if refusal is not None:
            raise ProblemError(401, "Unauthorized", refusal)
        return None
    principal = await authenticate(verifier, credentials)
    if not principal.has_any_role(tuple(Role(r) for r in AGENTS)):
        raise ProblemError(403, "Forbidden", f"This requires one of the roles: {', '.join(AGENTS)}")
    return principal


@router.post(
    "/calls/{call_id}/result",
    response_model=CallOut,
    operation_id="postCallResult",
    responses=problems(401, 403, 404, 409, 422),
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": inlined_schema(CallResultIn)}}}},
)
async def post_call_result(
    request: Request,
    call_id: Annotated[str, Path(max_length=64)],
    session: DbSession,
    correlation_id: CorrelationId,
    now: Now,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    verifier: Annotated[TokenVerifier, Depends(token_verifier)],
) -> CallOut:
    """The call's result, signed by the CTI provider (or posted by the collector for a manual call)."""
    raw = await request.body()
    principal = await _callback_principal(request, verifier, credentials, raw, now)
    try:
        result = CallResultIn.model_validate(json.loads(raw or b"null"))
    except (ValueError, ValidationError) as exc:
        raise ProblemError(422, "Invalid call result", "the body is not a call result") from exc
    async with session.begin():
        call = await call_rows.lock_call(session, call_id)
        if call is None:
            raise ProblemError(404, "Call not found", f"call {call_id} is not known")
        if principal is not None and (call["mode"] != "manual" or call["agent_id"] != principal.subject):
            raise ProblemError(403, "Forbidden", f"call {call_id} is not a manual call of yours")
        customer = await known_customer(session, call["customer_id"], lock=True)
        try:
            row, changed = await call_service.record_result(
                session,
                call=call,
                result=result.model_dump(mode="json"),
                customer=customer,
                trace=Trace(correlation_id=correlation_id),
            )
        except call_service.ResultConflict as exc:
            raise ProblemError(409, "Call result conflict", str(exc)) from exc
        if changed:
            await audit.record(
                session,
                actor=principal.subject if principal else "cti",
                action="call.result",
                subject=call["customer_id"],
                details={"call_id": call_id, "interaction_id": row["interaction_id"], "outcome": result.outcome.value},
                correlation_id=correlation_id,
            )
    return _view(row, number=None, principal=None)
