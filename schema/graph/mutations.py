from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.graph.link_leads import link_leads
from resolvers.results import Failure, guarded
from schema.context import Info
from schema.errors import MutationError, from_failure
from schema.graph.types import LinkPayload
from schema.leads.types import Lead

LinkResult = Annotated[
    LinkPayload | MutationError, strawberry.union("LinkResult")
]


async def _link(info: Info, from_id: str, to_id: str, *, link: bool) -> LinkResult:
    outcome = await guarded(link_leads(info.context, from_id, to_id, link=link))
    if isinstance(outcome, Failure):
        return from_failure(outcome)
    source, target = await info.context.loaders.lead.load_many(list(outcome))
    return LinkPayload(referrer=Lead.from_record(source), referred=Lead.from_record(target))


@strawberry.type
class GraphMutations:
    @strawberry.mutation(description="Records that `fromId` referred `toId` (graph); idempotent.")
    async def link_leads(self, info: Info, from_id: strawberry.ID, to_id: strawberry.ID) -> LinkResult:
        return await _link(info, from_id, to_id, link=True)

    @strawberry.mutation
    async def unlink_leads(self, info: Info, from_id: strawberry.ID, to_id: strawberry.ID) -> LinkResult:
        return await _link(info, from_id, to_id, link=False)
