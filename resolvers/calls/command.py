"""hangUpCall, transferCall and speak: a command to the carrier for a live call of the caller's account."""

from __future__ import annotations

from typing import Any

from datasources.calls.model import Call, CarrierFailed
from resolvers.calls.call import call as find_call
from resolvers.context import RequestContext
from resolvers.leads import validate
from resolvers.permissions import Action, requires
from resolvers.results import Failure

MAX_SPEECH = 3000


async def command(ctx: RequestContext, call_id: str, action: str, **arguments: Any) -> Call | Failure:
    found = await find_call(ctx, id=call_id, field="callId")
    if found is None:
        return Failure.not_found("callId", "call")
    if found.terminal:
        return Failure.conflict("callId", f"the call has already ended ({found.state.value})")
    if ctx.calls is None:
        return Failure.unavailable("carrier", RuntimeError("calls are not configured on this server"))
    outcome = await ctx.calls.command(found, action, **arguments)
    if isinstance(outcome, CarrierFailed):
        return Failure.unavailable("carrier", RuntimeError(outcome.reason))
    return found


@requires(Action.place_calls)
async def hang_up(ctx: RequestContext, call_id: str) -> Call | Failure:
    return await command(ctx, call_id, "hang_up")


@requires(Action.place_calls)
async def transfer(ctx: RequestContext, call_id: str, to: str) -> Call | Failure:
    try:
        number = validate.phone(to)
    except ValueError as exc:
        return Failure.invalid("to", str(exc))
    return await command(ctx, call_id, "transfer", to=number)


@requires(Action.place_calls)
async def speak(ctx: RequestContext, call_id: str, text: str) -> Call | Failure:
    text = text.strip()
    if not text or len(text) > MAX_SPEECH:
        return Failure.invalid("text", f"must be 1 to {MAX_SPEECH} characters")
    return await command(ctx, call_id, "speak", text=text)
