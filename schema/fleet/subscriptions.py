from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from resolvers.fleet.subscriptions import optimization_progress, route_updates
from resolvers.permissions import Action
from schema.context import Info
from schema.fleet.live import RouteEvent
from schema.fleet.planning import OptimizationJobEvent
from schema.permissions import can


@strawberry.type
class FleetSubscriptions:
    @strawberry.subscription(
        description="A route's positions, stop moves and ETA changes; with `after`, first every event after that "
                    "cursor, then live, with no gap.",
        extensions=can(Action.read_fleet),
    )
    async def route_updates(
        self, info: Info, route_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[RouteEvent]:
        async for update in route_updates(info.context, route_id, after):
            yield RouteEvent.from_update(update)

    @strawberry.subscription(
        description="Each new state of an optimisation job, from its first (or after `after`) to its result; "
                    "`job.bestObjective` is the best found so far.",
        extensions=can(Action.plan_routes),
    )
    async def optimization_progress(
        self, info: Info, job_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[OptimizationJobEvent]:
        async for update in optimization_progress(info.context, job_id, after):
            yield OptimizationJobEvent.from_update(update)
