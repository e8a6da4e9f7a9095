"""The CTI provider's click-to-call webhook: connect the collector to the customer, with timeouts and retries."""

from __future__ import annotations

import asyncio
from typing import Protocol

import httpx

from postloan_common.logging import get_logger
from postloan_crm.adapters.channels import SendError

log = get_logger(__name__)


class Dialler(Protocol):
    async def dial(self, *, call_id: str, agent_id: str, number: str) -> str | None:
        """Ask the provider to connect `agent_id` to `number`; return its call id; SendError on failure."""


class CtiWebhook:
    """POST {call_id, agent, to} to the provider; 5xx, 429 and timeouts are retried with backoff."""

    def __init__(
        self,
        *,
        url: str,
        token: str | None = None,
        timeout_s: float = 5.0,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url, self.token = url, token
        self.timeout_s, self.max_attempts, self.backoff_s = timeout_s, max(1, max_attempts), backoff_s
        self.transport = transport

    async def dial(self, *, call_id: str, agent_id: str, number: str) -> str | None:
        """Ask for the call; the call id is the idempotency key, so a retried request dials once."""
        headers = {"Idempotency-Key": call_id}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = {"call_id": call_id, "agent": agent_id, "to": number}
        last = "no attempt"
        async with httpx.AsyncClient(timeout=self.timeout_s, transport=self.transport) as client:
            for attempt in range(1, self.max_attempts + 1):
                try:
                    response = await client.post(self.url, json=payload, headers=headers)
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    last = type(exc).__name__
                else:
                    if response.status_code < 300:
                        body = response.json() if response.content else {}
                        value = body.get("id") if isinstance(body, dict) else None
                        return str(value) if value is not None else None
                    last = f"HTTP {response.status_code}"
                    if response.status_code < 500 and response.status_code != 429:
                        raise SendError(last, retryable=False)
                if attempt < self.max_attempts:
                    log.info("cti call failed, retrying", attempt=attempt, error=last)
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
        raise SendError(f"{self.max_attempts} attempts failed; last: {last}", retryable=True)
