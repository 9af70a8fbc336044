from __future__ import annotations

from datasources.postgres.errors import Conflict, NotFound
from datasources.postgres.records import RouteRecord
from resolvers.context import RequestContext
from resolvers.fleet.job import job_key
from resolvers.fleet.optimize_routes import planner_of
from resolvers.permissions import Action, requires
from resolvers.results import Failure


@requires(Action.plan_routes)
async def apply_plan(ctx: RequestContext, job_id: str) -> list[RouteRecord] | Failure:
    key = job_key(job_id)
    if key is None:
        return Failure.not_found("jobId", "optimisation job")
    if (missing := planner_of(ctx)) is not None:
        return missing
    assert ctx.planner is not None
    try:
        written = await ctx.planner.apply(account_id=ctx.account_id, job_id=key)
    except NotFound:
        return Failure.not_found("jobId", "optimisation job")
    except Conflict as exc:
        return Failure.conflict(exc.field, str(exc))
    for record in written:
        ctx.loaders.route.clear(record.id).prime(record.id, record)
        ctx.loaders.stops_by_route.clear(record.id)
    return written
