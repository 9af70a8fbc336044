"""Wires the route planner (its process pool) and the live fleet, closed before the stores they use."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from datasources.stores import Stores
from fleet.live import FleetLive
from fleet.planner import Planner
from fleet.solvers import MODULES
from ops.settings import Settings


@dataclass(frozen=True)
class Fleet:
    planner: Planner
    live: FleetLive


async def open_fleet(settings: Settings, stores: Stores, redis_url: str, exits: AsyncExitStack) -> Fleet:
    if settings.solver not in MODULES:
        raise ValueError(f"SOLVER must be one of {', '.join(MODULES)}, not {settings.solver!r}")
    planner = Planner(
        stores, redis_url=redis_url, workers=settings.solver_workers, solver=settings.solver,
        osrm_url=settings.osrm_url, job_ttl_s=int(settings.job_ttl.total_seconds()),
    )
    planner.start()
    exits.push_async_callback(planner.close)
    return Fleet(planner, FleetLive(stores))
