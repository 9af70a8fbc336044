"""The metric families read when Prometheus scrapes rather than counted as things happen: the pools, the backlogs,
the document caches, the build and the process.

prometheus_client's multiprocess mode (`serve --workers N`) sums only what each worker writes to its files as it
counts; a value computed at scrape time cannot be summed over workers that were not asked. So these families are
one collector, registered in the registry `/metrics` serves (next to the MultiProcessCollector with several
workers), and what they report is read by the worker that answers:

- the same whichever worker answers, read from the shared stores: switchboard_outbox_backlog, _age_seconds,
  switchboard_projection_backlog, _age_seconds; and switchboard_build_info, python_info (one build, one Python);
- the answering worker's own: switchboard_pool_connections_in_use (its pools), switchboard_document_cache_lookups
  (its parser and validation caches), process_* (its CPU, memory, files). With several workers these carry the
  worker's `pid` label, so each worker is a series of its own (process_cpu_seconds_total stays monotonic rather
  than jumping between workers) and a dashboard's `sum by (store)` shows the last worker asked, not a mix.
"""

from __future__ import annotations

import asyncio
import logging
import platform
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from prometheus_client import PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from datasources.mongo import projection
from datasources.redis.outbox import OUTBOXES
from datasources.stores import Stores

log = logging.getLogger(__name__)


class Readings(Collector):
    """`read()` before each scrape; a store down leaves its last value, as a gauge set at each scrape would."""

    def __init__(self, *, document_cache_size: int = 0, pid: int | None = None) -> None:
        self.document_cache_size = document_cache_size
        self.worker = {"pid": str(pid)} if pid is not None else {}
        self.pools: dict[str, float] = {}
        self.outbox_backlog: dict[str, float] = dict.fromkeys(OUTBOXES, 0.0)  # by outbox: archive, commands
        self.outbox_age: dict[str, float] = dict.fromkeys(OUTBOXES, 0.0)
        self.projection_backlog: dict[str, float] = {}
        self.projection_age = 0.0
        self.document_cache: dict[tuple[str, str], float] = {}
        self.build = {"version": _version(), "python": platform.python_version()}
        self.process = ProcessCollector(registry=None)
        self.platform = PlatformCollector(registry=None)

    async def read(self, stores: Stores | None) -> None:
        if stores is not None:
            await self.read_stores(stores)
        self.read_document_caches()

    async def read_stores(self, stores: Stores) -> None:
        """Pools now, and the backlogs (each read bounded by a second: a store down leaves the last value)."""
        self.pools["postgresql"] = stores.db.engine.pool.checkedout()  # type: ignore[attr-defined]
        self.pools["redis"] = _redis_in_use(stores.redis)
        graph_in_use = getattr(stores.graph, "connections_in_use", None)  # FalkorDB; the Neo4j driver tells none
        if graph_in_use is not None:
            self.pools["neo4j"] = graph_in_use()
        projection_read, outbox_reads = await asyncio.gather(
            asyncio.wait_for(projection.backlog(), 1.0),
            asyncio.gather(*(asyncio.wait_for(o.backlog(stores.redis), 1.0) for o in OUTBOXES.values()),
                           return_exceptions=True),
            return_exceptions=True,
        )
        if isinstance(outbox_reads, BaseException):  # not reached: the inner gather returns its exceptions
            outbox_reads = [outbox_reads] * len(OUTBOXES)
        for name, outbox_read in zip(OUTBOXES, outbox_reads, strict=True):
            if isinstance(outbox_read, BaseException):
                log.debug("%s outbox backlog unreadable: %s", name, outbox_read)
            else:
                size, age = outbox_read
                self.outbox_backlog[name] = size
                self.outbox_age[name] = age or 0
        if isinstance(projection_read, BaseException):
            log.debug("projection backlog unreadable: %s", projection_read)
        else:
            self.projection_backlog["pending"] = projection_read.pending
            self.projection_backlog["failed"] = projection_read.failed
            oldest = projection_read.oldest
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=UTC)
            self.projection_age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0

    def read_document_caches(self) -> None:
        if not self.document_cache_size:
            return
        from strawberry.extensions import parser_cache, validation_cache

        for cache, getter in (("parse", parser_cache._get_parse_cache),
                              ("validate", validation_cache._get_validate_cache)):
            info = getter(self.document_cache_size).cache_info()  # type: ignore[attr-defined]
            self.document_cache[cache, "hit"] = info.hits
            self.document_cache[cache, "miss"] = info.misses

    def collect(self) -> Iterable[Metric]:
        worker_labels, worker_values = list(self.worker), list(self.worker.values())
        caches = GaugeMetricFamily(
            "switchboard_document_cache_lookups", "Parser and validation cache lookups since start",
            labels=["cache", "result", *worker_labels],
        )
        for (cache, result), value in self.document_cache.items():
            caches.add_metric([cache, result, *worker_values], value)
        pools = GaugeMetricFamily(
            "switchboard_pool_connections_in_use", "Connections checked out of each store's pool",
            labels=["store", *worker_labels],
        )
        for store, value in self.pools.items():
            pools.add_metric([store, *worker_values], value)
        yield caches
        yield pools
        outbox_backlog = GaugeMetricFamily(
            "switchboard_outbox_backlog", "Outbox jobs not yet done (archive: ended calls; commands: the agent's)",
            labels=["outbox"],
        )
        outbox_age = GaugeMetricFamily(
            "switchboard_outbox_age_seconds", "Age of the oldest outbox job not yet done (0: none)", labels=["outbox"],
        )
        for name in OUTBOXES:
            outbox_backlog.add_metric([name], self.outbox_backlog[name])
            outbox_age.add_metric([name], self.outbox_age[name])
        yield outbox_backlog
        yield outbox_age
        backlog = GaugeMetricFamily(
            "switchboard_projection_backlog", "Leads whose Chroma and graph copies are behind MongoDB",
            labels=["state"],
        )
        for state, value in self.projection_backlog.items():
            backlog.add_metric([state], value)
        yield backlog
        yield GaugeMetricFamily(
            "switchboard_projection_age_seconds", "Since the write of the longest-waiting pending lead (0: none)",
            value=self.projection_age,
        )
        yield InfoMetricFamily("switchboard_build", "The running build", value=self.build)
        yield from _labelled(self.process.collect(), self.worker)
        yield from self.platform.collect()


def _labelled(families: Iterable[Metric], labels: dict[str, str]) -> Iterator[Metric]:
    for family in families:
        if labels:
            family.samples = [sample._replace(labels={**sample.labels, **labels}) for sample in family.samples]
        yield family


def _redis_in_use(client: Any) -> int:
    pool = getattr(client, "connection_pool", None)
    return len(getattr(pool, "_in_use_connections", ()))


def _version() -> str:
    try:
        return metadata.version("switchboard")
    except metadata.PackageNotFoundError:
        return "unknown"
