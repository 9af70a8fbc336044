"""`Query.node`: any global id back to its record, through the same loaders as every other edge."""

from __future__ import annotations

from resolvers.calls.call import call as find_call
from resolvers.context import RequestContext
from resolvers.ids import decode
from resolvers.permissions import Action, Forbidden, allowed

LOADERS = {
    "Lead": "lead", "User": "user", "Vehicle": "vehicle", "Route": "route", "Stop": "stop", "Account": "account"
}
STRING_KEYED = {"Lead", "Call"}
ACTIONS = {
    "Lead": Action.read_leads, "User": Action.read_users, "Account": Action.read_users, "Vehicle": Action.read_fleet,
    "Route": Action.read_fleet, "Stop": Action.read_fleet, "Call": Action.read_calls, "ApiKey": Action.manage_api_keys,
}


async def node(ctx: RequestContext, *, id: str) -> tuple[str, object] | None:
    type_name, key = decode(id)
    if not allowed(ctx.caller, ACTIONS[type_name]):
        raise Forbidden(ACTIONS[type_name], ctx.caller)
    if type_name == "Call":
        found = await find_call(ctx, id=id)
        return ("Call", found) if found is not None else None
    loader_name = LOADERS.get(type_name)
    if loader_name is None:
        return None
    loader = getattr(ctx.loaders, loader_name)
    record = await loader.load(key if type_name in STRING_KEYED else int(key))
    return (type_name, record) if record is not None else None
