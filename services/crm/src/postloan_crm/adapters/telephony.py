"""The CTI provider's click-to-call webhook: connect the collector to the customer, with timeouts and retries."""

from __future__ import annotations

from typing import Protocol

from postloan_crm.adapters.webhook import RetryingWebhook


class Dialler(Protocol):
    async def dial(self, *, call_id: str, agent_id: str, number: str) -> str | None:
        """Ask the provider to connect `agent_id` to `number`; return its call id; SendError on failure."""


class CtiWebhook(RetryingWebhook):
    """POST {call_id, agent, to} to the provider; 5xx, 429 and timeouts are retried with backoff."""

    async def dial(self, *, call_id: str, agent_id: str, number: str) -> str | None:
        """Ask for the call; the call id is the idempotency key, so a retried request dials once."""
        payload = {"call_id": call_id, "agent": agent_id, "to": number}
        return await self.post(payload, key=call_id, detailed=False, retry_log="cti call failed, retrying")
