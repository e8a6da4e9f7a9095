"""Refuse request bodies over a size cap before a handler reads them."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postloan_common.web.problems import ProblemResponse, problem_body, request_id_of

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


# Kept in the scope so the receive and send wrappers of one request agree.
_REFUSED = "postloan.body_refused"
_STARTED = "postloan.response_started"


class BodyLimitMiddleware:
    """Answer 413 problem+json for bodies over the cap, by Content-Length or by counting chunks."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_BYTES, prefix_caps: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Longest prefix first, so "/v1/loans/bulk" wins over a shorter "/v1".
        self.prefix_caps = sorted((prefix_caps or {}).items(), key=lambda item: -len(item[0]))

    def cap_for(self, path: str) -> int:
        """The body cap that applies to `path`."""
        return next((cap for prefix, cap in self.prefix_caps if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a declared or streamed oversize body; pass everything else through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _too_large(scope, receive, send, cap)
            return
        await self.app(scope, _Counter(receive, send, scope, cap).receive, _dropping(send, scope))


class _Counter:
    """Counts streamed chunks; past the cap it answers 413 itself and tells the app the client left."""

    def __init__(self, receive: Receive, send: Send, scope: Scope, cap: int) -> None:
        self._receive, self._send, self._scope, self._cap = receive, send, scope, cap
        self._seen = 0

    async def receive(self) -> Message:
        """Pass chunks through until the cap is passed, then refuse."""
        if self._scope.get(_REFUSED):
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self._seen += len(message.get("body", b""))
            if self._seen > self._cap:
                if not self._scope.get(_STARTED):
                    await _too_large(self._scope, self._receive, self._send, self._cap)
                self._scope[_REFUSED] = True
                return {"type": "http.disconnect"}
        return message


def _dropping(send: Send, scope: Scope) -> Send:
    """Forward the app's messages until the body was refused; after that the 413 is the answer."""

    async def forward(message: Message) -> None:
        if scope.get(_REFUSED):
            return
        if message["type"] == "http.response.start":
            scope[_STARTED] = True
        await send(message)

    return forward


async def _too_large(scope: Scope, receive: Receive, send: Send, cap: int) -> None:
    body = problem_body(
        status=413,
        title="Content Too Large",
        detail=f"The request body is larger than the {cap} bytes allowed here",
        instance=scope["path"],
        request_id=request_id_of(scope),
    )
    response = ProblemResponse(body, status_code=413, headers={"Connection": "close"})
    await response(scope, receive, send)
