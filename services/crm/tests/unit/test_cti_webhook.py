"""The CTI click-to-call webhook: one dial per call id, retries on 5xx, no retry on 4xx."""

from __future__ import annotations

import httpx
import pytest

from postloan_crm.adapters.channels import SendError
from postloan_crm.adapters.telephony import CtiWebhook


def webhook(handler) -> CtiWebhook:
    return CtiWebhook(url="http://cti.test/dial", token="t", backoff_s=0, transport=httpx.MockTransport(handler))


async def test_the_provider_is_asked_once_with_the_call_id_as_idempotency_key():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "prov-1"})

    assert await webhook(handler).dial(call_id="CALL-1", agent_id="a1", number="+8613800138000") == "prov-1"
    (request,) = seen
    assert request.headers["Idempotency-Key"] == "CALL-1"
    assert request.headers["Authorization"] == "Bearer t"


async def test_server_errors_are_retried_and_client_errors_are_not():
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(503) if calls["n"] < 3 else httpx.Response(201, json={"id": "prov-3"})

    assert await webhook(flaky).dial(call_id="CALL-2", agent_id="a1", number="+86") == "prov-3"
    with pytest.raises(SendError) as refused:
        await webhook(lambda r: httpx.Response(400)).dial(call_id="CALL-3", agent_id="a1", number="+86")
    assert refused.value.retryable is False
    with pytest.raises(SendError) as down:
        await webhook(lambda r: httpx.Response(500)).dial(call_id="CALL-4", agent_id="a1", number="+86")
    assert down.value.retryable is True
