"""Prometheus metrics: store round trips (fed by datasources.instrument), HTTP requests, the limits' refusals
and bucket levels (fed by ops.limits), and the last reconciliation check's drift (fed by ops.reconcile)."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datasources import instrument
from ops import limits, reconcile


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.store_seconds = Histogram(
            "switchboard_store_round_trip_seconds", "Time of one call to a store", ["store", "operation"],
            registry=self.registry, buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.http_requests = Counter(
            "switchboard_http_requests_total", "HTTP requests", ["method", "path", "status"], registry=self.registry
        )
        self.http_seconds = Histogram(
            "switchboard_http_request_seconds", "HTTP request time", ["method", "path"], registry=self.registry
        )
        self.refused = Counter(
            "switchboard_operations_refused_total", "Operations and webhooks refused by a limit",
            ["reason"], registry=self.registry,
        )
        self.bucket_level = Histogram(
            "switchboard_cost_budget_available_ratio", "Share of the caller's cost budget left after an operation",
            registry=self.registry, buckets=(0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1),
        )
        self.drift = Gauge(
            "switchboard_projection_drift", "Leads of Chroma or the graph out of step with MongoDB at the last check",
            ["store", "kind"], registry=self.registry,
        )
        instrument.add_observer(self.observe_store)
        limits.add_observer(self)
        reconcile.add_observer(self.observe_drift)

    def observe_store(self, store: str, operation: str, seconds: float) -> None:
        self.store_seconds.labels(store, operation).observe(seconds)

    def refused_operation(self, reason: str) -> None:
        self.refused.labels(reason).inc()

    def observe_bucket(self, available: float, capacity: float) -> None:
        self.bucket_level.observe(available / capacity if capacity else 0.0)

    def observe_drift(self, counts: reconcile.Counts) -> None:
        for (store, kind), count in counts.items():
            self.drift.labels(store.value, kind.value).set(count)

    def close(self) -> None:
        instrument.remove_observer(self.observe_store)
        limits.remove_observer(self)
        reconcile.remove_observer(self.observe_drift)

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware), so streaming and WebSocket traffic pass through untouched."""

    def __init__(self, app: ASGIApp, metrics: Metrics, paths: frozenset[str]) -> None:
        self.app = app
        self.metrics = metrics
        # only the app's own routes become label values: arbitrary request paths would grow the series without bound
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in self.paths else "other"
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.http_requests.labels(scope["method"], path, str(status)).inc()
            self.metrics.http_seconds.labels(scope["method"], path).observe(time.perf_counter() - started)
