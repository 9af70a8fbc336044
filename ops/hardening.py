"""GraphQL and WebSocket hardening: a variables cap, a cap on WebSocket message size and on sockets per principal
(the body cap and security headers are the edge's, ops/edge.py). Origins, `connection_init` timeout and
subscriptions per connection are Strawberry's own options, set in `GraphQLApp` from the same settings."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator, Iterator, Mapping
from json import JSONDecodeError
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.extensions import SchemaExtension
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived, WebSocketDisconnected

from ops.frames import FRAMES
from ops.limits import refused
from ops.socket_writer import writer_of

MESSAGE_TOO_BIG = 1009


def variables_limit(max_bytes: int) -> type[SchemaExtension]:
    class VariablesLimit(SchemaExtension):
        """Refuses an operation whose variables encode to more than MAX_VARIABLES_BYTES (HTTP and sockets)."""

        def on_execute(self) -> Iterator[None]:
            variables = self.execution_context.variables or {}
            size = len(orjson.dumps(variables)) if variables else 0
            if size > max_bytes:
                error = GraphQLError(
                    f"variables: {size} bytes is more than the {max_bytes} allowed (MAX_VARIABLES_BYTES)",
                    extensions={"code": "VARIABLES_TOO_LARGE"},
                )
                self.execution_context.result = ExecutionResult(data=None, errors=[error])
                refused("variables_too_large")
            yield

    return VariablesLimit


class SizedWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's adapter, but a text message over the view's `max_message_bytes` closes the socket (1009)
    before it is parsed; an event's shared `data` is encoded once for all its sockets (ops/frames.py); and the
    messages sent in one turn of the loop are written together (ops/socket_writer.py)."""

    def __init__(self, view: Any, request: WebSocket, response: WebSocket) -> None:
        super().__init__(view, request, response)
        self.writer = writer_of(response.scope)

    async def send_json(self, message: Mapping[str, object]) -> None:
        text = FRAMES.encode(message, self._whole)
        try:
            if self.writer is not None and await self.writer.send_text(text):
                return
            await self.ws.send_text(text)
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc
        except ConnectionError as exc:  # as Starlette's `send` does when the peer is gone
            self.ws.application_state = WebSocketState.DISCONNECTED
            raise WebSocketDisconnected from exc

    def _whole(self, message: Mapping[str, object]) -> str:
        encoded = self.view.encode_json(message)
        return encoded.decode() if isinstance(encoded, bytes) else encoded

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object]:
        limit: int = getattr(self.view, "max_message_bytes", 0)
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if limit and len(text) > limit:
                    await self.close(MESSAGE_TOO_BIG, f"message over {limit} bytes (WS_MAX_MESSAGE_BYTES)")
                    return
                try:
                    yield self.view.decode_json(text)
                except JSONDecodeError as exc:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from exc
        except KeyError as exc:
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass


class SocketCounter:
    """Open sockets per principal in this process (WS_MAX_CONNECTIONS)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    def take(self, subject: str) -> bool:
        if self.open[subject] >= self.limit:
            return False
        self.open[subject] += 1
        return True

    def release(self, subject: str) -> None:
        self.open[subject] -= 1
        if self.open[subject] <= 0:
            del self.open[subject]

