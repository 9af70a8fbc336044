"""The GraphQL endpoint: Strawberry's ASGI view with our context, orjson encoding, caches and limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

import schema.root
from datasources.instrument import StoreStats, collecting
from datasources.outage import down_store
from datasources.stores import Stores
from ops.auth import AuthGate, LegacyWSHandler, TransportWSHandler, connect_socket, principal_from
from ops.compiled import CompiledQueries
from ops.documents import Documents, Refusal, requested_hash
from ops.extension_hooks import HookedSchema
from ops.graphiql import graphiql_html
from ops.hardening import SizedWebSocketAdapter, SocketCounter, variables_limit
from ops.limits import Budgets, CostLimits, refused
from ops.operations import OperationMetrics
from ops.outages import StoreOutages
from ops.prepared import Handoff, PreparedLane
from ops.session_check import settle_session
from ops.settings import Settings
from resolvers.compiled.run import PlanCache
from resolvers.context import RequestContext, build_context
from resolvers.identity.config import AuthConfig
from resolvers.identity.sessions import session_pending

GRAPHQL_RESPONSE = "application/graphql-response+json"
MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 4000


class StoreStatsExtension(SchemaExtension):
    """Puts per-store round trips and time into `extensions.stores` of each response."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        stats = context.stats = StoreStats()
        with collecting(stats):
            yield

    def get_results(self) -> dict[str, Any]:
        stats = self.execution_context.context.stats
        return {"stores": stats.as_dict()} if stats is not None else {}


class ProjectionMarker(SchemaExtension):
    """`extensions.projections.lagging`: the leads whose graph or Chroma fields in this response come from a
    projection still behind MongoDB (syncState PENDING or FAILED), and which fields."""

    def get_results(self) -> dict[str, Any]:
        context = self.execution_context.context
        lagging = getattr(context, "lagging", None)
        if not lagging:
            return {}
        return {"projections": {"lagging": [{"lead": k, "fields": v} for k, v in lagging.items()]}}


def _expected(error: Any) -> bool:
    """Errors raised on purpose (bad input, validation, permissions) and store outages (ops.outages) stay visible
    when production masks the rest."""
    original = error.original_error
    return original is None or isinstance(original, GraphQLError) or down_store(original) is not None


def build_schema(settings: Settings, *, plans: PlanCache | None = None, budgets: Budgets | None = None
                 ) -> strawberry.Schema:
    """The schema with this deployment's extensions: limits always, caches and stats by setting. `plans` and
    `budgets` are shared with the prepared lane (`GraphQLApp`) when it runs."""
    extensions: list[Any] = [
        AuthGate,
        variables_limit(settings.max_variables_bytes),
        CostLimits.configured(settings, budgets),  # after the pure refusals: a refused operation spends no budget
        QueryDepthLimiter(max_depth=MAX_DEPTH),
        MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        MaxTokensLimiter(max_token_count=MAX_TOKENS),
        ProjectionMarker,
    ]
    if settings.compiled_queries:
        # after AuthGate and CostLimits: it replaces only execution
        extensions.append(CompiledQueries.configured(plans or PlanCache(settings.document_cache_size)))
    if settings.document_cache_size:
        size = settings.document_cache_size
        extensions += [ParserCache(maxsize=size), ValidationCache(maxsize=size)]
    if settings.debug_stats:
        extensions.append(StoreStatsExtension)
    if not settings.profile.introspection:
        extensions.append(DisableIntrospection())
    if settings.profile.mask_errors:
        extensions.append(MaskErrors(should_mask_error=lambda e: not _expected(e)))
    extensions += [StoreOutages, OperationMetrics]
    return schema.root.build_schema(extensions, schema_class=HookedSchema)


class GraphQLApp(GraphQL):
    graphql_transport_ws_handler_class = TransportWSHandler  # type: ignore[assignment]
    graphql_ws_handler_class = LegacyWSHandler  # type: ignore[assignment]
    websocket_adapter_class = SizedWebSocketAdapter  # type: ignore[assignment]

    def __init__(self, schema: strawberry.Schema, settings: Settings, auth: AuthConfig,
                 lane: PreparedLane | None = None) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            # browsers do not apply CORS to WebSockets: the same allow-list guards the handshake ('*' allows any)
            allowed_origins=settings.cors_origins,
            connection_init_wait_timeout=settings.ws_init_timeout,
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
        )
        self.max_message_bytes = settings.ws_max_message_bytes
        self.sockets = SocketCounter(settings.ws_max_connections)
        self.settings = settings
        self.auth = auth
        self.documents = Documents.from_settings(settings, schema._schema)
        self.lane = lane
        self._graphiql: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's, with the prepared lane (ops/prepared.py) asked first about each HTTP request."""
        if scope["type"] != "http" or self.lane is None:
            return await super().__call__(scope, receive, send)
        request = Request(scope=scope, receive=receive)
        try:
            answered = await self.lane.answer(self, request)
            if isinstance(answered, Handoff):
                request.state.handed_on = answered.sub_response
                response = await self.run(request, context=answered.context)  # type: ignore[call-overload]
            else:
                response = answered or await self.run(request)
        except HTTPException as exc:  # as Strawberry's own __call__
            response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        await response(scope, receive, send)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """The one the prepared lane made when it handed the request on (its context holds it), else a new one."""
        made: Response | None = getattr(request.state, "handed_on", None)
        return made if made is not None else await super().get_sub_response(request)

    async def get_context(  # type: ignore[override]
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        stores: Stores = request.state.stores
        voice = request.state.voice
        context = build_context(
            stores, None, max_page_size=self.settings.max_page_size, auth=self.auth, calls=voice.service,
            events=voice.broker, projection=request.state.projection, planner=request.state.fleet.planner,
            fleet=request.state.fleet.live,
        )
        if isinstance(request, WebSocket):
            return context  # authenticated by connection_init (on_ws_connect)
        # GraphQL over HTTP: a client that accepts application/graphql-response+json gets the spec's status codes
        response.graphql_response = GRAPHQL_RESPONSE in request.headers.get("accept", "")  # type: ignore[union-attr]
        request.state.sub_response = response
        context.response = response
        response.client_host = request.client.host if request.client else None  # type: ignore[union-attr]
        principal, reason, _ = await principal_from(stores, self.auth, request.headers.get("authorization"),
                                                    session=False)
        context.principal, context.auth_error = principal, reason
        context.session_pending = session_pending(principal)
        return context

    async def on_ws_connect(self, context: RequestContext) -> None:  # type: ignore[override]
        await connect_socket(context, self.sockets)

    async def execute_single(
        self, request: Request, request_adapter: AsyncHTTPRequestAdapter, sub_response: Response,
        context: Any, root_value: None, request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """A persisted or trusted document's hash becomes its text (ops/documents.py), or the request is refused."""
        if request_data.query is not None and isinstance(requested_hash(request_data.extensions), str):
            await settle_session(context)  # it may register the document: only a session that stands may
        resolved = await self.documents.resolve(request.state.stores.redis, request_data.query,
                                                request_data.extensions, may_register=context.principal is not None)
        if isinstance(resolved, Refusal):
            if resolved.code != "PERSISTED_QUERY_NOT_FOUND":  # that one is the APQ protocol, not a refusal
                refused(resolved.code.lower())
            sub_response.status_code = resolved.status or sub_response.status_code
            return ExecutionResult(data=None, errors=[resolved.error()])
        request_data.query = resolved
        return await super().execute_single(request=request, request_adapter=request_adapter, sub_response=sub_response,
                                            context=context, root_value=root_value, request_data=request_data)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # a GET with only a persisted query's hash has no `query` either, yet it is an operation, not a browser
        return "extensions" not in request.query_params and super().should_render_graphql_ide(request)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """A request error (parse, validation, variable coercion, refused credentials: no error has a path, no
        data) answers without `data`, and 400 unless a status is set, to clients of graphql-response+json."""
        body = await super().process_result(request, result)
        sub: Any = getattr(request.state, "sub_response", None)
        if (sub is not None and getattr(sub, "graphql_response", False) and result.errors and result.data is None
                and all(error.path is None for error in result.errors)):
            body.pop("data", None)
            if not sub.status_code:
                sub.status_code = 400
        return body

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if getattr(sub_response, "graphql_response", False):
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE}; charset=utf-8"
        return response

    async def render_graphql_ide(self, request: Request) -> Response:
        if self._graphiql is None:
            self._graphiql = graphiql_html(request.state.demo_users or None)
        return HTMLResponse(self._graphiql)

    def encode_json(self, data: object) -> str:
        # str, not bytes: Strawberry sends bytes over WebSocket as binary frames, which GraphQL clients refuse
        return orjson.dumps(data).decode()
