from __future__ import annotations

from datasources.mongo.records import LeadRecord
from resolvers.context import RequestContext
from resolvers.leads.change_lead import change_lead
from resolvers.permissions import Action, requires
from resolvers.results import Failure


@requires(Action.write_leads)
async def set_status(ctx: RequestContext, lead_id: str, status: str) -> LeadRecord | Failure:
    return await change_lead(ctx, lead_id, {"status": status})
