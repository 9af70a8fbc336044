"""Prometheus metrics. Every family the layers feed arrives as a signal (datasources.signals); the pools, the
backlogs and the document caches are read when Prometheus scrapes (ops/metrics_readings.py).

| family                                         | from                                                  |
|------------------------------------------------|-------------------------------------------------------|
| switchboard_http_requests_total, _seconds      | ops.edge: by method, route and status                 |
| switchboard_websocket_connections              | ops.edge (open sockets on /graphql)                   |
| switchboard_graphql_operations_total, _seconds | ops.operations: type, bounded operation name, outcome |
| switchboard_graphql_errors_total               | ops.operations: by `extensions.code`                  |
| switchboard_prepared_operations_total          | ops.prepared: answered by the lane, or handed on      |
| switchboard_subscriptions_active               | ops.operations: by root field                         |
| switchboard_store_round_trip_seconds           | datasources.instrument                                |
| switchboard_dataloader_batch_size              | resolvers.loaders: keys per batch, by loader          |
| switchboard_dataloader_loads_total             | resolvers.loaders: by loader and hit/miss             |
| switchboard_document_cache_*                   | the parser and validation caches' hits and misses     |
| switchboard_pool_connections_in_use            | PostgreSQL, Redis and graph connection pools          |
| switchboard_outbox_backlog, _age_seconds       | the archive and command outboxes in Redis (`outbox`)  |
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

With several workers (`serve --workers N`, ops/workers.py) prometheus_client runs in multiprocess mode: each
worker writes its counters, histograms and gauges to files in PROMETHEUS_MULTIPROC_DIR, and whichever worker
answers a scrape serves the MultiProcessCollector's merge of all of them, so counters and histograms are the
sums over the workers (a dead worker's counts stay in them). Each gauge says how its workers' values merge
(`multiprocess_mode`, noted at each; ignored by a single process). The families read at scrape time are
ops/metrics_readings.py's, which says which of them describe the answering worker only.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response

from datasources import signals
from datasources.stores import Stores
from ops.metrics_readings import Readings

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

LATENCY = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
OPERATION = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def multiprocess_dir() -> str | None:
    """Where the workers' metric files are, if this process is one of several workers.

    Read from the process environment, not through Settings: prometheus_client reads it there (once, when it is
    imported) to decide where values live, and a `.env` line reaching Settings alone would have /metrics merge
    files that no worker writes."""
    return os.environ.get(MULTIPROC_DIR) or None


class Metrics:
    def __init__(self, *, document_cache_size: int = 0, multiprocess_dir: str | None = None) -> None:
        """`multiprocess_dir`: serve the merge of every worker's files there (prometheus_client must have been
        imported with PROMETHEUS_MULTIPROC_DIR set to it); `None`, this process's own registry."""
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
        # open sockets in every live worker; a dead worker's sockets closed with it
        self.websockets = Gauge("switchboard_websocket_connections", "Open WebSocket connections", registry=r,
                                multiprocess_mode="livesum")
        self.operations = Counter(
            "switchboard_graphql_operations_total", "GraphQL operations", ["type", "name", "outcome"], registry=r
        )
        self.operation_seconds = Histogram(
            "switchboard_graphql_operation_seconds", "Time of a query or mutation (subscriptions: not timed)",
            ["type", "name"], registry=r, buckets=OPERATION,
        )
        self.errors = Counter("switchboard_graphql_errors_total", "GraphQL errors by code", ["code"], registry=r)
        self.prepared = Counter(
            "switchboard_prepared_operations_total",
            "Prepared HTTP queries (ops/prepared.py): answered by the lane, or handed on to the full path",
            ["outcome"], registry=r,
        )
        self.prepared_child = functools.cache(self.prepared.labels)
        # as the sockets they run on
        self.subscriptions = Gauge(
            "switchboard_subscriptions_active", "Subscriptions open", ["field"], registry=r,
            multiprocess_mode="livesum",
        )
        self.batch_size = Histogram(
            "switchboard_dataloader_batch_size", "Keys per DataLoader batch", ["loader"], registry=r,
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
        )
        self.loads = Counter(
            "switchboard_dataloader_loads_total", "DataLoader loads, answered from its cache or not",
            ["loader", "result"], registry=r,
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
        # every worker runs the scheduled check over the same stores: the last check's counts, whichever worker ran
        # it, and still the last after that worker exited (a sum would count each drifted lead N times)
        self.drift = Gauge(
            "switchboard_projection_drift", "Leads of Chroma or the graph out of step with MongoDB at the last check",
            ["store", "kind"], registry=r, multiprocess_mode="mostrecent",
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
        self.readings = Readings(document_cache_size=document_cache_size,
                                 pid=os.getpid() if multiprocess_dir else None)
        if multiprocess_dir:
            # every family above is in the workers' files; registering them here as well would export them twice
            self.exposed = CollectorRegistry()
            MultiProcessCollector(self.exposed, path=multiprocess_dir)
        else:
            self.exposed = r
        self.exposed.register(self.readings)
        self._receivers: list[tuple[Any, Callable[..., None]]] = [
            (signals.store_round_trip, self.observe_store), (signals.operation_refused, self.refused_operation),
            (signals.budget_level, self.observe_bucket), (signals.projection_drift, self.observe_drift),
            (signals.graphql_operation, self.observe_operation), (signals.subscription, self.observe_subscription),
            (signals.prepared_operation, self.observe_prepared),
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

    def observe_prepared(self, outcome: str) -> None:
        self.prepared_child(outcome).inc()

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
        await self.readings.read(stores)
        return Response(generate_latest(self.exposed), media_type=CONTENT_TYPE_LATEST)


