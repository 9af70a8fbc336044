"""The edge: what every request and socket passes through before it reaches a route, in one pure ASGI layer.

- A body over MAX_BODY_BYTES is refused with 413, whether it declares its length or streams it.
- The request id: `X-Request-ID` from the client (at most 100 characters) or a new one, bound to everything logged
  while the request is served (structlog's context variables) and echoed on the response.
- Security headers on every HTTP response (HSTS where secrets are required), unless the app set them itself.
- Prometheus: requests by method, route and status, and their seconds; open WebSockets, from accept to the end.
- CORS (Starlette's own middleware) for a request that carries an `Origin` header; one without needs none.
- A WebSocket served by uvicorn's websockets-sansio protocol gets its `SocketWriter` (ops/socket_writer.py).

These were six layers, each wrapping `send` (and some `receive`) in a closure of its own for every request; as one
they read the headers once and wrap `send` once. A request that declares its length gets no wrapped `receive`:
the HTTP parser delivers no more body than the length declared, so only a streamed body is counted as it comes.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence

import orjson
import structlog
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ops.limits import refused
from ops.metrics import Metrics
from ops.socket_writer import attach_writer

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
REQUEST_ID = b"x-request-id"
MAX_REQUEST_ID = 100


class BodyTooLarge(Exception):
    pass


class Edge:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, paths: frozenset[str], max_body_bytes: int, hsts: bool,
                 cors_origins: Sequence[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=cors_origins, allow_methods=["GET", "POST", "OPTIONS"],
                                   allow_headers=["authorization", "content-type", "x-request-id"])
        self.metrics = metrics
        # only the app's own routes become label values: arbitrary request paths would grow the series without bound
        self.paths = paths
        self.max_body_bytes = max_body_bytes
        self.headers = SECURITY_HEADERS + ([HSTS] if hsts else [])
        self.names = frozenset(name for name, _ in self.headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._socket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = given = origin = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == REQUEST_ID:
                given = value
            elif name == b"origin":
                origin = value
        request_id = _request_id(given)
        path = scope["path"] if scope["path"] in self.paths else "other"
        status = 0  # until the response starts
        started = time.perf_counter()
        headers = self.headers
        names = self.names

        async def send_edge(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                own = list(message.get("headers", ()))
                if own and any(name.lower() in names for name, _ in own):
                    present = {name.lower() for name, _ in own}
                    added = [(name, value) for name, value in headers if name not in present]
                else:
                    added = headers
                message["headers"] = [*own, *added, (REQUEST_ID, request_id.encode("latin-1"))]
            await send(message)

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            length = int(declared) if declared is not None and declared.isdigit() and not chunked else None
            if length is not None and length > self.max_body_bytes:
                await self._refuse(send_edge)
                return
            # the parser delivers no more body than the length declared; a streamed body is counted as it comes
            counted = receive if length is not None else self._counted(receive)
            app = self.app if origin is None else self.cors
            try:
                await app(scope, counted, send_edge)
            except BodyTooLarge:
                if not status:  # nothing sent yet
                    await self._refuse(send_edge)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
            self.metrics.http_requests_child(scope["method"], path, str(status or 500)).inc()
            self.metrics.http_seconds_child(scope["method"], path).observe(time.perf_counter() - started)

    def _counted(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body_bytes

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        return counted

    async def _refuse(self, send: Send) -> None:
        refused("body_too_large")
        body = orjson.dumps({"error": f"request body is larger than {self.max_body_bytes} bytes (MAX_BODY_BYTES)"})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Binds the request id, attaches the socket's writer and counts the socket from its accept until the
        app is done with it."""
        given = next((value for name, value in scope["headers"] if name == REQUEST_ID), None)
        tokens = structlog.contextvars.bind_contextvars(request_id=_request_id(given))
        writer = attach_writer(scope, send)
        accepted = False

        async def send_edge(message: Message) -> None:
            nonlocal accepted
            if writer is not None:
                writer.flush()  # what the app sends itself goes after the frames the writer holds
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                self.metrics.websockets.inc()
            await send(message)

        try:
            await self.app(scope, receive, send_edge)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
            if accepted:
                self.metrics.websockets.dec()


def _request_id(given: bytes | None) -> str:
    return given.decode("latin-1")[:MAX_REQUEST_ID] if given else secrets.token_hex(16)
