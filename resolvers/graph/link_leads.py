from __future__ import annotations

from resolvers.context import RequestContext
from resolvers.ids import decode_as
from resolvers.permissions import Action, requires
from resolvers.results import Failure


@requires(Action.link_leads)
async def link_leads(ctx: RequestContext, from_id: str, to_id: str, *, link: bool) -> tuple[str, str] | Failure:
    """`(from)-[:REFERRED]->(to)`, made (`link=True`) or removed; both leads must be the caller's."""
    source = decode_as(from_id, "Lead", field="fromId")
    target = decode_as(to_id, "Lead", field="toId")
    if source == target:
        return Failure.invalid("toId", "a lead cannot refer itself")
    found = await ctx.loaders.lead.load_many([source, target])
    for field, record in zip(("fromId", "toId"), found, strict=True):
        if record is None:
            return Failure.not_found(field, "lead")
    graph = ctx.stores.graph
    try:
        if link:
            done = await graph.link_leads(account_id=ctx.account_id, from_id=source, to_id=target)
        else:
            await graph.unlink_leads(account_id=ctx.account_id, from_id=source, to_id=target)
            done = True
    except Exception as exc:
        return Failure.unavailable("neo4j", exc)
    if not done:
        return Failure.not_found("fromId", "graph node of lead")
    return source, target
