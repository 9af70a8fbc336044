"""What the live-fleet mutations share: the driver's row scope, and refusals as typed failures."""

from __future__ import annotations

from collections.abc import Awaitable

from datasources.postgres.errors import Conflict, NotFound
from resolvers.context import RequestContext
from resolvers.results import Failure


def fleet_of(ctx: RequestContext) -> Failure | None:
    if ctx.fleet is None:
        return Failure.refused("input", "the live fleet is not configured on this server")
    return None


async def sees_route(ctx: RequestContext, route_id: int) -> bool:
    """A driver's loaders find only the driver's own routes."""
    return await ctx.loaders.route.load(route_id) is not None


async def sees_stop(ctx: RequestContext, stop_id: int) -> bool:
    return await ctx.loaders.stop.load(stop_id) is not None


async def refused_as_failure[T](work: Awaitable[T], *, field: str, what: str) -> T | Failure:
    try:
        return await work
    except NotFound:
        return Failure.not_found(field, what)
    except Conflict as exc:
        return Failure.conflict(exc.field, str(exc))
