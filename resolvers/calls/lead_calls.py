from __future__ import annotations

from datetime import datetime

from datasources.calls.model import Call
from datasources.mongo.calls import CallLogPosition
from datasources.mongo.records import LeadRecord
from resolvers.calls.history import call_from_log
from resolvers.context import RequestContext
from resolvers.errors import InputError
from resolvers.pagination import Page, check_first, decode_cursor, encode_cursor, page


def position(after: str) -> CallLogPosition:
    """A keyset cursor of this list: the `startedAt` (or null) and the id of the last call seen."""
    try:
        started_at, call_id = decode_cursor(after, arity=2)
    except ValueError:  # a malformed date inside an otherwise well-formed cursor
        raise InputError("after", f"{after!r} is not a cursor from this list") from None
    if not isinstance(call_id, str) or not (started_at is None or isinstance(started_at, datetime)):
        raise InputError("after", f"{after!r} is not a cursor from this list")
    return CallLogPosition(started_at, call_id)


async def lead_calls(ctx: RequestContext, lead: LeadRecord, *, first: int, after: str | None) -> Page[Call]:
    check_first(first, ctx.max_page_size)
    start = position(after) if after is not None else None
    # one more than the page: it only says whether there is a next page
    logs = await ctx.loaders.call_logs_of_lead.load((lead.id, (first + 1, start)))
    calls = [call_from_log(log) for log in logs]
    return page(calls, first, lambda c: encode_cursor(c.started_at, c.id), has_previous=after is not None)
