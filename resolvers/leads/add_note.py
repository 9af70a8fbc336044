from __future__ import annotations

from datasources.mongo import leads as store
from datasources.mongo.records import LeadRecord
from resolvers.context import RequestContext
from resolvers.ids import decode_as
from resolvers.leads import validate
from resolvers.leads.change_lead import accepted
from resolvers.permissions import Action, requires
from resolvers.results import Failure


@requires(Action.write_notes)
async def add_note(ctx: RequestContext, lead_id: str, body: str) -> LeadRecord | Failure:
    key = decode_as(lead_id, "Lead", field="leadId")
    try:
        body = validate.note(body)
    except ValueError as exc:
        return Failure.invalid("body", str(exc))
    previous = await ctx.loaders.lead.load(key)
    if previous is None:
        return Failure.not_found("leadId", "lead")
    record = await store.add_note(account_id=ctx.account_id, lead_id=key, body=body, author_id=ctx.caller.user_id)
    if record is None:
        return Failure.not_found("leadId", "lead")
    return await accepted(ctx, record)
