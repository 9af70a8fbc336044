"""One lifespan: start the embedded stores, open every client, migrate, seed, and close all in reverse."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TypedDict

from starlette.applications import Starlette

from datasources.stores import Stores
from ops import migrate
from ops.principal import development_principal
from ops.seed import is_seeded, seed_demo
from ops.settings import Settings
from ops.stores import open_all
from ops.voice import Voice, open_voice
from resolvers.principal import Principal

log = logging.getLogger(__name__)


class State(TypedDict):
    stores: Stores
    voice: Voice
    principal: Principal
    started: float


type Lifespan = Callable[[Starlette], AbstractAsyncContextManager[State]]


def lifespan(settings: Settings) -> Lifespan:
    @asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[State]:
        async with AsyncExitStack() as exits:
            stores, urls = await open_all(settings, exits)
            if settings.auto_migrate:
                await migrate.upgrade(stores.db.engine)
            if settings.seeds_demo and not settings.is_production and not await is_seeded(stores):
                started = time.perf_counter()
                await seed_demo(stores, leads=settings.demo_leads)
                log.info("demo data written in %.1f s", time.perf_counter() - started)
            voice = await open_voice(settings, stores, urls.redis, exits)
            principal = await development_principal(stores.db)
            yield {"stores": stores, "voice": voice, "principal": principal, "started": time.monotonic()}

    return run
