"""One lifespan: start the embedded stores, open every client, migrate, seed, and close all in reverse."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any, TypedDict

from starlette.applications import Starlette

from datasources.stores import Stores
from ops import demo_traffic, heap, reconcile
from ops.first_start import first_start
from ops.fleet import Fleet, open_fleet
from ops.projector import Projector
from ops.settings import Settings
from ops.stores import open_all
from ops.voice import Voice, open_voice
from resolvers.leads.projector import Projection

log = logging.getLogger(__name__)


class State(TypedDict):
    stores: Stores
    voice: Voice
    fleet: Fleet
    projection: Projection
    # the demo users GraphiQL offers to sign in as (development only)
    demo_users: list[dict[str, Any]]
    started: float


type Lifespan = Callable[[Starlette], AbstractAsyncContextManager[State]]


def lifespan(settings: Settings) -> Lifespan:
    @asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[State]:
        async with AsyncExitStack() as exits:
            stores, urls = await open_all(settings, exits)
            demo_users = await first_start(settings, stores)
            try:
                await stores.vectors.warm()
            except Exception:  # Chroma unreachable: /health says so, and semantic fields fail on their own
                log.warning("the vector store is not reachable at start", exc_info=True)
            projection = Projection(wait=settings.projection_wait.total_seconds(),
                                    max_attempts=settings.projection_max_attempts, wakeup=asyncio.Event())
            projector = Projector(stores, projection, poll=settings.projection_poll)
            projector.start()
            exits.push_async_callback(projector.close)  # stopped before the stores close
            voice = await open_voice(settings, stores, urls.redis, exits)
            fleet = await open_fleet(settings, stores, urls.redis, exits)
            if settings.demo_calls_per_minute and not settings.profile.secrets_required:
                from voice.simulator import SimulatedCarrier

                if isinstance(voice.service.carrier, SimulatedCarrier):
                    exits.push_async_callback(demo_traffic.schedule(
                        stores, voice.service, per_minute=settings.demo_calls_per_minute,
                        lock=settings.data_dir / demo_traffic.LOCK_FILE))
                else:
                    log.warning("DEMO_CALLS_PER_MINUTE is ignored: it only dials through the simulated carrier")
            if settings.reconcile_interval is not None:
                exits.push_async_callback(reconcile.schedule(stores, every=settings.reconcile_interval))
            metrics = getattr(app.state, "metrics", None)
            timer = heap.GcTimer(metrics.observe_gc) if metrics is not None else None
            if timer is not None:
                timer.install()
                exits.callback(timer.remove)
            exits.callback(heap.settle(freeze=settings.gc_freeze, threshold=settings.gc_threshold or None))
            yield {"stores": stores, "voice": voice, "fleet": fleet, "projection": projection, "demo_users": demo_users,
                   "started": time.monotonic()}

    return run
