from __future__ import annotations

from datetime import date

from datasources.postgres.errors import Conflict, NotFound
from datasources.redis.jobs import JobState
from resolvers.context import RequestContext
from resolvers.ids import decode_int
from resolvers.permissions import Action, requires
from resolvers.results import Failure

MAX_TIME_LIMIT_S = 300
MAX_VEHICLES = 100
MAX_STOPS = 1_000
OBJECTIVES = ("hierarchical", "distance")


def planner_of(ctx: RequestContext) -> Failure | None:
    if ctx.planner is None:
        return Failure.refused("input", "route optimisation is not configured on this server")
    return None


@requires(Action.plan_routes)
async def optimize_routes(
    ctx: RequestContext,
    *,
    on: date,
    vehicle_ids: list[str],
    stop_ids: list[str] | None,
    unplanned_for_date: bool,
    time_limit_s: float,
    objective: str,
) -> JobState | Failure:
    if (missing := planner_of(ctx)) is not None:
        return missing
    assert ctx.planner is not None
    if not 0 < time_limit_s <= MAX_TIME_LIMIT_S:
        return Failure.invalid("input.timeLimitSeconds", f"must be above 0 and at most {MAX_TIME_LIMIT_S}")
    if objective not in OBJECTIVES:
        return Failure.invalid("input.objective", f"must be one of {', '.join(OBJECTIVES)}")
    if not vehicle_ids:
        return Failure.invalid("input.vehicleIds", "at least one vehicle")
    if len(vehicle_ids) > MAX_VEHICLES:
        return Failure.invalid("input.vehicleIds", f"at most {MAX_VEHICLES}")
    if (stop_ids is None) == (not unplanned_for_date):
        return Failure.invalid("input.stopIds", "give either stopIds or unplannedForDate: true, not both or neither")
    if stop_ids is not None and not 0 < len(stop_ids) <= MAX_STOPS:
        return Failure.invalid("input.stopIds", f"between 1 and {MAX_STOPS} stops")
    vehicles = [decode_int(v, "Vehicle", field=f"input.vehicleIds[{i}]") for i, v in enumerate(vehicle_ids)]
    stops = [decode_int(s, "Stop", field=f"input.stopIds[{i}]") for i, s in enumerate(stop_ids)] if stop_ids else None
    if len(set(vehicles)) != len(vehicles):
        return Failure.invalid("input.vehicleIds", "each vehicle once")
    if stops is not None and len(set(stops)) != len(stops):
        return Failure.invalid("input.stopIds", "each stop once")
    try:
        return await ctx.planner.submit(account_id=ctx.account_id, on=on, vehicle_ids=vehicles, stop_ids=stops,
                                        time_limit_s=time_limit_s, objective=objective)
    except NotFound as exc:
        return Failure.not_found("input.vehicleIds" if exc.kind == "Vehicle" else "input.stopIds", exc.kind.lower())
    except Conflict as exc:
        return Failure.conflict(exc.field, str(exc))
