"""A provider's HTTP webhook: POST JSON with an idempotency key; 5xx, 429 and timeouts retried with backoff."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import httpx

from postloan_common.logging import get_logger
from postloan_crm.settings import Settings

log = get_logger(__name__)
W = TypeVar("W", bound="RetryingWebhook")


class SendError(Exception):
    """Delivery failed; `retryable` says whether trying again later may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class RetryingWebhook:
    """The retry loop the SMS/push sender and the CTI dialler share; other 4xx answers refuse at once."""

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

    async def post(
        self, payload: dict[str, Any], *, key: str, detailed: bool, retry_log: str, **log_fields: Any
    ) -> str | None:
        """POST `payload`; the provider's id of the result, or SendError. `detailed` keeps error texts and bodies."""
        headers = {"Idempotency-Key": key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        last = "no attempt"
        async with httpx.AsyncClient(timeout=self.timeout_s, transport=self.transport) as client:
            for attempt in range(1, self.max_attempts + 1):
                try:
                    response = await client.post(self.url, json=payload, headers=headers)
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    last = f"{type(exc).__name__}: {exc}" if detailed else type(exc).__name__
                else:
                    if response.status_code < 300:
                        return provider_id(response)
                    # Without `detailed` the body stays out: a dialler's answer may echo the number called.
                    last = f"HTTP {response.status_code}" + (f": {response.text[:200]}" if detailed else "")
                    if response.status_code < 500 and response.status_code != 429:
                        raise SendError(last, retryable=False)
                if attempt < self.max_attempts:
                    log.info(retry_log, attempt=attempt, error=last, **log_fields)
                    await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
        raise SendError(f"{self.max_attempts} attempts failed; last: {last}", retryable=True)


def provider_id(response: httpx.Response) -> str | None:
    """The `id` of a provider's JSON answer, if it gives one."""
    try:
        body = response.json()
    except ValueError:
        return None
    value = body.get("id") if isinstance(body, dict) else None
    return str(value) if value is not None else None


def provider_webhook(kind: type[W], url: str, settings: Settings) -> W:
    """A `kind` webhook at `url` with the provider token, timeout and retries `settings` give."""
    token = settings.provider_token.get_secret_value() if settings.provider_token else None
    return kind(
        url=url,
        token=token,
        timeout_s=settings.provider_timeout_s,
        max_attempts=settings.provider_max_attempts,
        backoff_s=settings.provider_backoff_s,
    )
