"""Prometheus metrics. Every family the layers feed arrives as a signal (datasources.signals); the pools, the
backlogs and the document caches are read when Prometheus scrapes.

| family                                         | from                                                  |
|------------------------------------------------|-------------------------------------------------------|
| switchboard_http_requests_total, _seconds      | MetricsMiddleware                                     |
| switchboard_websocket_connections              | MetricsMiddleware (open sockets on /graphql)          |
| switchboard_graphql_operations_total, _seconds | ops.operations: type, bounded operation name, outcome |
| switchboard_graphql_errors_total               | ops.operations: by `extensions.code`                  |
| switchboard_subscriptions_active               | ops.operations: by root field                         |
| switchboard_store_round_trip_seconds           | datasources.instrument                                |
| switchboard_dataloader_batch_size              | resolvers.loaders: keys per batch, by loader          |
| switchboard_dataloader_loads_total             | resolvers.loaders: by loader and hit/miss             |
| switchboard_document_cache_*                   | the parser and validation caches' hits and misses     |
| switchboard_pool_connections_in_use            | PostgreSQL, Redis and graph connection pools          |
| switchboard_outbox_backlog, _age_seconds       | the archive outbox in Redis                           |
| switchboard_projection_backlog, _age_seconds   | leads waiting for (or dead-lettered by) the projector |
| switchboard_webhook_events_total               | ops.webhooks: by event type and result                |
| switchboard_call_transitions_total             | voice.service: state before and after                 |
| switchboard_operations_refused_total           | ops.limits                                            |
| switchboard_cost_budget_available_ratio        | ops.limits                                            |
| switchboard_projection_drift                   | ops.reconcile                                         |
| switchboard_gc_pause_seconds                   | ops.heap: each cycle collection, by generation        |
| switchboard_build_info, process_*, python_*    | the package version; the process's CPU, memory, files |

Labels stay bounded: paths are the app's routes, operation names the first 200 seen, event types the ones the
webhook parses (others count as `other`), codes and loaders are the code's own.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from datasources import signals
from datasources.mongo import projection
from datasources.redis import outbox
from datasources.stores import Stores

log = logging.getLogger(__name__)

LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
OPERATION = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self, *, document_cache_size: int = 0) -> None:
        self.document_cache_size = document_cache_size
        r = self.registry = CollectorRegistry()
        self.store_seconds = Histogram(
            "switchboard_store_round_trip_seconds", "Time of one call to a store", ["store", "operation"],
            registry=r, buckets=LATENCY,
        )
        self.http_requests = Counter(
            "switchboard_http_requests_total", "HTTP requests", ["method", "path", "status"], registry=r
        )
        self.http_seconds = Histogram(
            "switchboard_http_request_seconds", "HTTP request time", ["method", "path"], registry=r
        )
        self.websockets = Gauge("switchboard_websocket_connections", "Open WebSocket connections", registry=r)
        self.operations = Counter(
            "switchboard_graphql_operations_total", "GraphQL operations", ["type", "name", "outcome"], registry=r
        )
        self.operation_seconds = Histogram(
            "switchboard_graphql_operation_seconds", "Time of a query or mutation (subscriptions: not timed)",
            ["type", "name"], registry=r, buckets=OPERATION,
        )
        self.errors = Counter("switchboard_graphql_errors_total", "GraphQL errors by code", ["code"], registry=r)
        self.subscriptions = Gauge(
            "switchboard_subscriptions_active", "Subscriptions open in this process", ["field"], registry=r
        )
        self.batch_size = Histogram(
            "switchboard_dataloader_batch_size", "Keys per DataLoader batch", ["loader"], registry=r,
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
        )
        self.loads = Counter(
            "switchboard_dataloader_loads_total", "DataLoader loads, answered from its cache or not",
            ["loader", "result"], registry=r,
        )
        self.document_cache = Gauge(
            "switchboard_document_cache_lookups", "Parser and validation cache lookups since start",
            ["cache", "result"], registry=r,
        )
        self.pool_in_use = Gauge(
            "switchboard_pool_connections_in_use", "Connections checked out of each store's pool", ["store"],
            registry=r,
        )
        self.outbox_backlog = Gauge("switchboard_outbox_backlog", "Archive jobs not yet done", registry=r)
        self.outbox_age = Gauge(
            "switchboard_outbox_age_seconds", "Age of the oldest archive job not yet done (0: none)", registry=r
        )
        self.projection_backlog = Gauge(
            "switchboard_projection_backlog", "Leads whose Chroma and graph copies are behind MongoDB", ["state"],
            registry=r,
        )
        self.projection_age = Gauge(
            "switchboard_projection_age_seconds", "Since the write of the longest-waiting pending lead (0: none)",
            registry=r,
        )
        self.webhooks = Counter(
            "switchboard_webhook_events_total", "Telnyx webhook events by type and result", ["type", "result"],
            registry=r,
        )
        self.transitions = Counter(
            "switchboard_call_transitions_total", "Call state changes", ["from_state", "to_state"], registry=r
        )
        self.refused = Counter(
            "switchboard_operations_refused_total", "Operations and webhooks refused by a limit",
            ["reason"], registry=r,
        )
        self.bucket_level = Histogram(
            "switchboard_cost_budget_available_ratio", "Share of the caller's cost budget left after an operation",
            registry=r, buckets=(0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1),
        )
        self.gc_seconds = Histogram(
            "switchboard_gc_pause_seconds", "Time of one cycle collection (ops/heap.py)", ["generation"], registry=r,
            buckets=LATENCY,
        )
        self.gc_child = [self.gc_seconds.labels(str(g)) for g in range(3)]
        self.drift = Gauge(
            "switchboard_projection_drift", "Leads of Chroma or the graph out of step with MongoDB at the last check",
            ["store", "kind"], registry=r,
        )
        # the families fed on every request, by their labelled child: `labels()` takes a lock and checks the values
        # on each call, a cached child is one dict lookup (label values are bounded, see above)
        self.store_child = functools.cache(self.store_seconds.labels)
        self.http_requests_child = functools.cache(self.http_requests.labels)
        self.http_seconds_child = functools.cache(self.http_seconds.labels)
        self.operations_child = functools.cache(self.operations.labels)
        self.operation_seconds_child = functools.cache(self.operation_seconds.labels)
        self.batch_size_child = functools.cache(self.batch_size.labels)
        self.loads_child = functools.cache(self.loads.labels)
        Info("switchboard_build", "The running build", registry=r).info({
            "version": _version(), "python": platform.python_version(),
        })
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self._receivers: list[tuple[Any, Callable[..., None]]] = [
            (signals.store_round_trip, self.observe_store), (signals.operation_refused, self.refused_operation),
            (signals.budget_level, self.observe_bucket), (signals.projection_drift, self.observe_drift),
            (signals.graphql_operation, self.observe_operation), (signals.subscription, self.observe_subscription),
            (signals.loader_batch, self.observe_batch), (signals.loader_load, self.observe_load),
            (signals.webhook_event, self.observe_webhook), (signals.call_transition, self.observe_transition),
        ]
        for signal, receiver in self._receivers:
            signal.connect(receiver)

    def observe_store(self, store: str, *, operation: str, seconds: float) -> None:
        self.store_child(store, operation).observe(seconds)

    def observe_gc(self, generation: int, seconds: float) -> None:
        self.gc_child[generation].observe(seconds)

    def refused_operation(self, reason: str) -> None:
        self.refused.labels(reason).inc()

    def observe_bucket(self, _: None, *, available: float, capacity: float) -> None:
        self.bucket_level.observe(available / capacity if capacity else 0.0)

    def observe_drift(self, _: None, *, counts: Any) -> None:
        for (store, kind), count in counts.items():
            self.drift.labels(store.value, kind.value).set(count)

    def observe_operation(
        self, kind: str, *, name: str, outcome: str, seconds: float | None, error_codes: list[str]
    ) -> None:
        self.operations_child(kind, name, outcome).inc()
        if seconds is not None:
            self.operation_seconds_child(kind, name).observe(seconds)
        for code in error_codes:
            self.errors.labels(code).inc()

    def observe_subscription(self, change: str, *, field: str) -> None:
        gauge = self.subscriptions.labels(field)
        gauge.inc() if change == "start" else gauge.dec()

    def observe_batch(self, loader: str, *, size: int) -> None:
        self.batch_size_child(loader).observe(size)

    def observe_load(self, loader: str, *, hit: bool) -> None:
        self.loads_child(loader, "hit" if hit else "miss").inc()

    def observe_webhook(self, event_type: str, *, result: str) -> None:
        self.webhooks.labels(event_type, result).inc()

    def observe_transition(self, before: str, *, to: str) -> None:
        self.transitions.labels(before, to).inc()

    def close(self) -> None:
        for signal, receiver in self._receivers:
            signal.disconnect(receiver)

    async def endpoint(self, request: Request) -> Response:
        stores: Stores | None = getattr(request.state, "stores", None)
        if stores is not None:
            await self.read_stores(stores)
        self.read_document_caches()
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    async def read_stores(self, stores: Stores) -> None:
        """Pools now, and the backlogs (each read bounded by a second: a store down leaves the last value)."""
        self.pool_in_use.labels("postgresql").set(stores.db.engine.pool.checkedout())  # type: ignore[attr-defined]
        self.pool_in_use.labels("redis").set(_redis_in_use(stores.redis))
        graph_in_use = getattr(stores.graph, "connections_in_use", None)  # FalkorDB; the Neo4j driver tells none
        if graph_in_use is not None:
            self.pool_in_use.labels("neo4j").set(graph_in_use())
        outbox_read, projection_read = await asyncio.gather(
            asyncio.wait_for(outbox.backlog(stores.redis), 1.0), asyncio.wait_for(projection.backlog(), 1.0),
            return_exceptions=True,
        )
        if isinstance(outbox_read, BaseException):
            log.debug("outbox backlog unreadable: %s", outbox_read)
        else:
            size, age = outbox_read
            self.outbox_backlog.set(size)
            self.outbox_age.set(age or 0)
        if isinstance(projection_read, BaseException):
            log.debug("projection backlog unreadable: %s", projection_read)
        else:
            self.projection_backlog.labels("pending").set(projection_read.pending)
            self.projection_backlog.labels("failed").set(projection_read.failed)
            oldest = projection_read.oldest
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=UTC)
            self.projection_age.set((datetime.now(UTC) - oldest).total_seconds() if oldest else 0)

    def read_document_caches(self) -> None:
        if not self.document_cache_size:
            return
        from strawberry.extensions import parser_cache, validation_cache

        for cache, getter in (("parse", parser_cache._get_parse_cache),
                              ("validate", validation_cache._get_validate_cache)):
            info = getter(self.document_cache_size).cache_info()  # type: ignore[attr-defined]
            self.document_cache.labels(cache, "hit").set(info.hits)
            self.document_cache.labels(cache, "miss").set(info.misses)


def _redis_in_use(client: Any) -> int:
    pool = getattr(client, "connection_pool", None)
    return len(getattr(pool, "_in_use_connections", ()))


def _version() -> str:
    try:
        return metadata.version("switchboard")
    except metadata.PackageNotFoundError:
        return "unknown"


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware), so streaming and WebSocket traffic pass through untouched."""

    def __init__(self, app: ASGIApp, metrics: Metrics, paths: frozenset[str]) -> None:
        self.app = app
        self.metrics = metrics
        # only the app's own routes become label values: arbitrary request paths would grow the series without bound
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
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
            self.metrics.http_requests_child(scope["method"], path, str(status)).inc()
            self.metrics.http_seconds_child(scope["method"], path).observe(time.perf_counter() - started)

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Counts the socket from its accept until the app is done with it."""
        accepted = False

        async def send_accept(message: Message) -> None:
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                self.metrics.websockets.inc()
            await send(message)

        try:
            await self.app(scope, receive, send_accept)
        finally:
            if accepted:
                self.metrics.websockets.dec()
