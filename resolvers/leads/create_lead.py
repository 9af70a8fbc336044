from __future__ import annotations

from typing import Any

from datasources.mongo import leads as store
from datasources.mongo.errors import Conflict
from datasources.mongo.leads import NewLead
from datasources.mongo.records import LeadRecord
from resolvers.context import RequestContext
from resolvers.leads.change_lead import accepted
from resolvers.leads.fields import checked
from resolvers.permissions import Action, requires
from resolvers.principal import Role
from resolvers.results import Failure


@requires(Action.write_leads)
async def create_lead(ctx: RequestContext, values: dict[str, Any]) -> LeadRecord | Failure:
    fields = checked(values)
    if isinstance(fields, Failure):
        return fields
    owner = fields.get("owner_id")
    if ctx.caller.role is Role.agent:
        # an agent's new lead is the agent's own; handing it to someone else is a manager's call
        if owner is not None and owner != ctx.caller.user_id:
            return Failure.forbidden("an agent may only create leads they own")
        fields["owner_id"] = ctx.caller.user_id
    elif owner is not None and await ctx.loaders.user.load(owner) is None:
        return Failure.not_found("input.ownerId", "user")
    notes = fields.pop("notes", None) or []
    data = NewLead(**{k: v for k, v in fields.items() if v is not None}, notes=notes)
    try:
        record = await store.create_lead(account_id=ctx.account_id, data=data)
    except Conflict as exc:
        return Failure.conflict(f"input.{exc.field}", str(exc))
    except Exception as exc:
        return Failure.unavailable("mongodb", exc)
    return await accepted(ctx, record)
