"""arriveAtStop, completeStop and failStop: one stop move each, through the lifecycle."""

from __future__ import annotations

from datasources.postgres.records import StopRecord
from resolvers.context import RequestContext
from resolvers.fleet.moves import fleet_of, refused_as_failure, sees_stop
from resolvers.ids import decode_int
from resolvers.permissions import Action, requires
from resolvers.results import Failure

MAX_REASON = 300
MAX_NOTE = 1000


@requires(Action.update_stops)
async def move_stop(
    ctx: RequestContext, stop_id: str, status: str, *, reason: str | None = None, proof_note: str | None = None
) -> StopRecord | Failure:
    key = decode_int(stop_id, "Stop", field="stopId")
    if reason is not None and len(reason) > MAX_REASON:
        return Failure.invalid("reason", f"at most {MAX_REASON} characters")
    if proof_note is not None and len(proof_note) > MAX_NOTE:
        return Failure.invalid("proofNote", f"at most {MAX_NOTE} characters")
    if (missing := fleet_of(ctx)) is not None:
        return missing
    assert ctx.fleet is not None
    if not await sees_stop(ctx, key):
        return Failure.not_found("stopId", "stop")
    moved = await refused_as_failure(
        ctx.fleet.move_stop(account_id=ctx.account_id, stop_id=key, status=status, reason=reason,
                            proof_note=proof_note),
        field="stopId", what="stop",
    )
    if isinstance(moved, Failure):
        return moved
    stop, route = moved
    ctx.loaders.route.clear(route.id).prime(route.id, route)
    return stop
