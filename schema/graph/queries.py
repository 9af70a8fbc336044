from __future__ import annotations

import strawberry

from resolvers.graph.introduction_path import introduction_path
from resolvers.permissions import Action
from schema.context import Info
from schema.graph.types import IntroductionPath, Relation
from schema.leads.types import Lead
from schema.permissions import can


@strawberry.type
class GraphQueries:
    @strawberry.field(
        description="Who can introduce you: referrals and colleagues linking two leads (graph).",
        extensions=can(Action.read_leads),
    )
    async def introduction_path(
        self, info: Info, from_lead_id: strawberry.ID, to_lead_id: strawberry.ID, max_hops: int = 4
    ) -> IntroductionPath | None:
        found = await introduction_path(info.context, from_id=from_lead_id, to_id=to_lead_id, max_hops=max_hops)
        if found is None:
            return None
        return IntroductionPath(
            leads=[Lead.from_record(r) for r in found.leads], relations=[Relation(r) for r in found.relations]
        )
