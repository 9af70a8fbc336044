from __future__ import annotations

from datasources.calls.model import Call, CarrierFailed, Refused
from resolvers.context import RequestContext
from resolvers.ids import decode_as
from resolvers.permissions import Action, requires
from resolvers.results import Failure


@requires(Action.place_calls)
async def start_call(ctx: RequestContext, lead_id: str) -> Call | Failure:
    """Refuses (nothing dialled) a lead without consent, on the do-not-call list, or outside calling hours."""
    key = decode_as(lead_id, "Lead", field="leadId")
    lead = await ctx.loaders.lead.load(key)
    if lead is None:
        return Failure.not_found("leadId", "lead")
    if ctx.calls is None:
        return Failure.unavailable("carrier", RuntimeError("calls are not configured on this server"))
    outcome = await ctx.calls.start_call(account_id=ctx.account_id, lead=lead, agent_id=ctx.caller.user_id)
    if isinstance(outcome, Refused):
        return Failure.refused("leadId", outcome.reason)
    if isinstance(outcome, CarrierFailed):
        return Failure.unavailable("carrier", RuntimeError(outcome.reason))
    return outcome
