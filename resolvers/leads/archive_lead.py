from __future__ import annotations

from datetime import UTC, datetime

from datasources.mongo.records import LeadRecord
from resolvers.context import RequestContext
from resolvers.leads.change_lead import change_lead
from resolvers.permissions import Action, requires
from resolvers.results import Failure


@requires(Action.write_leads)
async def archive_lead(ctx: RequestContext, lead_id: str) -> LeadRecord | Failure:
    return await change_lead(ctx, lead_id, {"archived_at": datetime.now(UTC)})
