"""HTTP building blocks shared by every service API."""

from postloan_common.web.app import CORRELATION_ID_HEADER, REQUEST_ID_HEADER, create_app
from postloan_common.web.auth import (
    ROLE_PERMISSIONS,
    CurrentPrincipal,
    Permission,
    Principal,
    Role,
    authenticate,
    decode_token,
    mint_token,
    require_roles,
)
from postloan_common.web.deps import (
    AppSettings,
    CorrelationId,
    DbSession,
    RequestId,
    get_correlation_id,
    get_request_id,
    get_session,
    get_settings,
)
from postloan_common.web.pii import can_read_pii, mask_email, mask_national_id, mask_phone
from postloan_common.web.problems import PROBLEM_JSON, ProblemDetails, ProblemError, ProblemResponse, problem_response

__all__ = [
    "CORRELATION_ID_HEADER",
    "PROBLEM_JSON",
    "REQUEST_ID_HEADER",
    "ROLE_PERMISSIONS",
    "AppSettings",
    "CorrelationId",
    "CurrentPrincipal",
    "DbSession",
    "Permission",
    "Principal",
    "ProblemDetails",
    "ProblemError",
    "ProblemResponse",
    "RequestId",
    "Role",
    "authenticate",
    "can_read_pii",
    "create_app",
    "decode_token",
    "get_correlation_id",
    "get_request_id",
    "get_session",
    "get_settings",
    "mask_email",
    "mask_national_id",
    "mask_phone",
    "mint_token",
    "problem_response",
    "require_roles",
]
