from __future__ import annotations

from typing import Any

from datasources.mongo.records import LeadRecord
from resolvers.context import RequestContext
from resolvers.leads.change_lead import change_lead
from resolvers.leads.fields import checked
from resolvers.permissions import Action, requires
from resolvers.principal import Role
from resolvers.results import Failure


@requires(Action.write_leads)
async def update_lead(ctx: RequestContext, lead_id: str, values: dict[str, Any]) -> LeadRecord | Failure:
    given = {k: v for k, v in values.items() if v is not None}
    fields = checked(given)
    if isinstance(fields, Failure):
        return fields
    # nested groups become dotted paths, so `consent: {sms: true}` leaves `consent.call` as it is
    changes = {k: v for k, v in fields.items() if not isinstance(v, dict)}
    for group in ("company", "qualification", "consent"):
        for key, value in (fields.get(group) or {}).items():
            if value is not None:
                changes[f"{group}.{key}"] = value
    if not changes:
        return Failure.invalid("input", "give at least one field to change")
    if "owner_id" in fields:
        if ctx.caller.role is Role.agent and fields["owner_id"] != ctx.caller.user_id:
            return Failure.forbidden("an agent may only take leads for themselves")
        if await ctx.loaders.user.load(fields["owner_id"]) is None:
            return Failure.not_found("input.ownerId", "user")
    return await change_lead(ctx, lead_id, changes)
