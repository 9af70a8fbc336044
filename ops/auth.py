"""The caller at the edge: credentials from the `Authorization` header or `connection_init`, the gate that lets
anonymous callers reach only the public fields, a context per operation on sockets, and socket close codes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler

from datasources.stores import Stores
from ops.documents import Refusal, resolve_payload
from ops.hardening import SocketCounter
from ops.session_check import UNAVAILABLE, refuse, root_fields
from resolvers.context import RequestContext
from resolvers.identity.config import AuthConfig
from resolvers.identity.sessions import authenticate, session_ended
from resolvers.identity.tokens import TokenError
from resolvers.permissions import PUBLIC_FIELDS
from resolvers.principal import Principal

log = logging.getLogger(__name__)

SIGN_IN_FIRST = "sign in first: send 'Authorization: Bearer <access token or API key>' (signIn gives a token)"
SOCKET_UNAUTHORIZED = 4401
SOCKET_FORBIDDEN = 4403
SOCKET_TOO_MANY = 4429


class SocketRefused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        # a close frame's reason holds at most 123 bytes
        self.reason = reason.encode()[:123].decode(errors="ignore")


async def principal_from(stores: Stores, auth: AuthConfig, authorization: str | None, *, session: bool = True) -> tuple[
    Principal | None, str | None, bool
]:
    """(the principal, or why the credentials were refused, and whether that was a store outage). `session=False`
    leaves an access token's session marks unchecked (`RequestContext.session_pending`)."""
    if not authorization:
        return None, None, False
    try:
        return await authenticate(stores, auth, authorization, session=session), None, False
    except TokenError as exc:
        return None, str(exc), False
    except Exception:
        log.exception("authentication failed on a store error")
        return None, UNAVAILABLE, True


class AuthGate(SchemaExtension):
    """Runs first. A socket's operations each get their own context (fresh loaders, stats) and re-check the
    connection's session; an anonymous caller runs only `PUBLIC_FIELDS`, anything else is a 401."""

    def on_operation(self) -> Any:
        context = self.execution_context.context
        if isinstance(context, RequestContext) and context.response is None:
            self.execution_context.context = context.for_operation()
        yield

    async def on_execute(self) -> AsyncIterator[None]:
        ctx: RequestContext = self.execution_context.context
        _, fields = root_fields(self.execution_context)
        reason = None
        if ctx.principal is None:
            if fields is None or not fields <= PUBLIC_FIELDS:
                reason = ctx.auth_error or SIGN_IN_FIRST
        elif ctx.response is None:  # a socket: its token may have expired or been revoked since it connected
            reason = await session_ended(ctx.stores, ctx.auth, ctx.principal)
        # an HTTP operation's pending session is checked by CostLimits, with its budget, in one round trip
        if reason is not None:
            refuse(self.execution_context, reason)
        yield


async def connect_socket(context: RequestContext, sockets: SocketCounter) -> None:
    """`connection_init` must carry `{"authorization": "Bearer ..."}`; else the socket closes with 4401. A
    principal past its open sockets (WS_MAX_CONNECTIONS) is refused with 4429."""
    params = context.connection_params or {}
    value = params.get("authorization") or params.get("Authorization")
    if not isinstance(value, str) or not value:
        raise SocketRefused(SOCKET_UNAUTHORIZED, "connection_init must carry {\"authorization\": \"Bearer <token>\"}")
    principal, reason, outage = await principal_from(context.stores, context.auth, value)
    if principal is None:
        raise SocketRefused(1011 if outage else SOCKET_UNAUTHORIZED, reason or "unauthorized")
    if not sockets.take(principal.subject):
        raise SocketRefused(SOCKET_TOO_MANY, f"more than {sockets.limit} open sockets for this principal")
    context.principal = principal
    context.release = lambda: sockets.release(principal.subject)


async def _socket_document(handler: Any, message: Any) -> Refusal | None:
    """Persisted and trusted documents over a socket (ops/documents.py), once the connection is acknowledged."""
    documents = getattr(handler.view, "documents", None)
    if documents is None or not handler.connection_acknowledged:
        return None
    return await resolve_payload(documents, handler.context.stores.redis, message.get("payload"))


class _ReleasesItsPlace:
    """Gives the socket's place among its principal's open sockets back when the connection ends."""

    context: RequestContext

    async def handle(self) -> None:
        try:
            await super().handle()  # type: ignore[misc]
        finally:
            self.context.release()


class TransportWSHandler(_ReleasesItsPlace, BaseGraphQLTransportWSHandler[RequestContext, None]):
    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketRefused as exc:
            await self.websocket.close(code=exc.code, reason=exc.reason)

    async def handle_subscribe(self, message: Any) -> None:
        refusal = await _socket_document(self, message)
        if refusal is None:
            await super().handle_subscribe(message)
        else:
            await self.send_message({"id": message["id"], "type": "error", "payload": [refusal.error().formatted]})


class LegacyWSHandler(_ReleasesItsPlace, BaseGraphQLWSHandler[RequestContext, None]):
    async def handle_connection_init(self, message: Any) -> None:
        try:
            await super().handle_connection_init(message)
        except SocketRefused as exc:
            await self.send_message({"type": "connection_error", "payload": {"message": exc.reason}})
            await self.websocket.close(code=exc.code, reason=exc.reason)

    async def handle_start(self, message: Any) -> None:
        refusal = await _socket_document(self, message)
        if refusal is None:
            await super().handle_start(message)
        else:
            await self.send_message({"id": message["id"], "type": "error", "payload": refusal.error().formatted})
