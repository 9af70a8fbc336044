from __future__ import annotations

from datasources.calls.model import Call
from datasources.mongo.records import LeadRecord
from resolvers.calls.history import call_from_log
from resolvers.context import RequestContext
from resolvers.pagination import Page, check_first, decode_cursor, encode_cursor, page


async def lead_calls(ctx: RequestContext, lead: LeadRecord, *, first: int, after: str | None) -> Page[Call]:
    check_first(first, ctx.max_page_size)
    logs = await ctx.loaders.call_logs_of_lead.load(lead.id)
    calls = [call_from_log(log) for log in logs]
    start = 0
    if after is not None:
        [call_id] = decode_cursor(after, arity=1)
        start = next((i + 1 for i, c in enumerate(calls) if c.id == call_id), len(calls))
    return page(calls[start : start + first + 1], first, lambda c: encode_cursor(c.id), has_previous=start > 0)
