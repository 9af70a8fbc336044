from __future__ import annotations

from datasources.mongo.records import LeadRecord
from resolvers.context import RequestContext
from resolvers.leads.change_lead import change_lead
from resolvers.permissions import Action, requires
from resolvers.results import Failure


@requires(Action.write_leads)
async def mark_do_not_call(ctx: RequestContext, lead_id: str) -> LeadRecord | Failure:
    # Withdrawing from calls also withdraws consent to call: both checks guard outbound dialling.
    return await change_lead(ctx, lead_id, {"do_not_call": True, "consent.call": False})
