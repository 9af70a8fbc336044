"""`create_app(settings)`: the one place the house is wired together."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route, WebSocketRoute

from ops import health, webhooks
from ops.edge import Edge
from ops.graphiql import graphiql_routes
from ops.graphql import GraphQLApp, build_schema
from ops.lifespan import lifespan
from ops.limits import Budgets, sign_in_limit
from ops.metrics import Metrics, multiprocess_dir
from ops.prepared import PreparedLane
from ops.secrets import signing_secret
from ops.settings import Settings, production_problems
from resolvers.compiled.run import PlanCache
from resolvers.identity.config import AuthConfig


def auth_config(settings: Settings) -> AuthConfig:
    return AuthConfig(
        secret=signing_secret(settings),
        access_ttl=settings.access_token_lifetime,
        refresh_ttl=settings.jwt_refresh_expires_in,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        max_failed_sign_ins=settings.login_max_attempts,
        lockout=settings.login_lockout,
        invite_ttl=settings.invite_expires_in,
        session_recheck=settings.session_recheck,
    )


def graphql_app(settings: Settings) -> GraphQLApp:
    """The endpoint over this deployment's schema; with the prepared lane (PREPARED_OPERATIONS) sharing the
    compiled plans and the budgets with the schema's extensions."""
    if not (settings.compiled_queries and settings.prepared_operations):
        return GraphQLApp(build_schema(settings), settings, auth_config(settings))
    plans = PlanCache(settings.document_cache_size)
    budgets = Budgets(settings, sign_in_limit(settings))
    schema = build_schema(settings, plans=plans, budgets=budgets)
    lane = PreparedLane(plans, budgets, schema._schema, max_page_size=settings.max_page_size,
                        debug_stats=settings.debug_stats)
    return GraphQLApp(schema, settings, auth_config(settings), lane)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    problems = production_problems(settings)
    if problems:
        raise ValueError(f"refusing to start in {settings.environment.value}:\n  - " + "\n  - ".join(problems))
    metrics = Metrics(document_cache_size=settings.document_cache_size, multiprocess_dir=multiprocess_dir())
    graphql = graphql_app(settings)
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/health", health.health),
        Route("/health/live", health.live),
        Route("/health/ready", health.ready),
        Route("/metrics", metrics.endpoint),
        Route("/webhooks/telnyx", webhooks.telnyx, methods=["POST"]),
        *graphiql_routes(),
    ]
    edge = Middleware(Edge, metrics=metrics, paths=frozenset(getattr(route, "path", "") for route in routes),
                      max_body_bytes=settings.max_body_bytes, hsts=settings.profile.secrets_required,
                      cors_origins=settings.cors_origins)
    app = Starlette(routes=routes, middleware=[edge], lifespan=lifespan(settings))
    app.state.settings = settings
    app.state.metrics = metrics
    return app
