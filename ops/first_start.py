"""The start-up work that changes the stores: migrations (AUTO_MIGRATE) and the demo data on the first start.

The lifespan runs it in a single-process server; `serve --workers N` runs it once in the supervisor before any
worker starts, because N workers racing to migrate or to seed an empty store would each do it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from typing import Any

from datasources.stores import Stores
from ops import migrate
from ops.demo_users import credentials_path, describe, read_credentials, write_credentials
from ops.seed import is_seeded, seed_demo
from ops.settings import Settings

log = logging.getLogger(__name__)


async def first_start(settings: Settings, stores: Stores) -> list[dict[str, Any]]:
    """Migrates and seeds as the settings ask; returns the demo users GraphiQL offers (development only)."""
    if settings.auto_migrate:
        for line in await migrate.up_all(stores):
            log.info("migrated %s", line)
    if not settings.seeds_demo or settings.profile.secrets_required:
        return []
    if not await is_seeded(stores):
        started = time.perf_counter()
        _, credentials = await seed_demo(stores, leads=settings.demo_leads)
        write_credentials(settings.data_dir, credentials)
        log.info("demo data written in %.1f s", time.perf_counter() - started)
    credentials = read_credentials(settings.data_dir)
    if credentials:
        log.warning("%s", describe(credentials, credentials_path(settings.data_dir)))
    return [asdict(c) for c in credentials]
