"""`create_app(settings)`: the one place the house is wired together."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute

from ops import health, webhooks
from ops.graphql import GraphQLApp, build_schema
from ops.lifespan import lifespan
from ops.logging import RequestIdMiddleware
from ops.metrics import Metrics, MetricsMiddleware
from ops.settings import Settings


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    metrics = Metrics()
    graphql = GraphQLApp(build_schema(settings), settings)
    routes: list[Route | WebSocketRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/health", health.health),
        Route("/health/live", health.live),
        Route("/health/ready", health.ready),
        Route("/metrics", metrics.endpoint),
        Route("/webhooks/telnyx", webhooks.telnyx, methods=["POST"]),
    ]
    middleware = [
        Middleware(RequestIdMiddleware),
        Middleware(MetricsMiddleware, metrics=metrics, paths=frozenset(route.path for route in routes)),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type", "x-request-id"],
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan(settings))
    app.state.settings = settings
    app.state.metrics = metrics
    return app
