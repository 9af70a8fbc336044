from __future__ import annotations

import strawberry

from resolvers.leads.lead import lead as resolve_lead
from resolvers.leads.leads import leads as resolve_leads
from resolvers.leads.search_leads import search_leads as resolve_search
from resolvers.permissions import Action
from schema.context import Info
from schema.leads.enums import LeadOrderBy, LeadSource, LeadStatus
from schema.leads.inputs import LeadFilterInput
from schema.leads.types import Lead, LeadMatch
from schema.pagination import Connection
from schema.permissions import can


@strawberry.type
class LeadQueries:
    @strawberry.field(description="A lead of the caller's account, or null.", extensions=can(Action.read_leads))
    async def lead(self, info: Info, id: strawberry.ID) -> Lead | None:
        found = await resolve_lead(info.context, id=id)
        return Lead.from_record(found) if found else None

    @strawberry.field(
        description="Leads of the caller's account, filtered and ordered, a page at a time.",
        extensions=can(Action.read_leads),
    )
    async def leads(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        filter: LeadFilterInput | None = None,
        order_by: LeadOrderBy = LeadOrderBy.CREATED_AT_DESC,
    ) -> Connection[Lead] | None:
        f = filter or LeadFilterInput()
        found = await resolve_leads(
            info.context,
            first=first,
            after=after,
            order=order_by.value,
            statuses=[s.value for s in f.status],
            sources=[s.value for s in f.source],
            tags=f.tags,
            owner_id=f.owner_id,
            text=f.text,
            include_archived=f.include_archived,
        )
        return Connection[Lead].from_page(found, Lead.from_record)

    @strawberry.field(
        description="Leads nearest in meaning to `text` (Chroma), best first.", extensions=can(Action.read_leads)
    )
    async def search_leads(
        self,
        info: Info,
        text: str,
        first: int = 10,
        status: LeadStatus | None = None,
        source: LeadSource | None = None,
    ) -> list[LeadMatch] | None:
        hits = await resolve_search(
            info.context,
            text=text,
            first=first,
            status=status.value if status else None,
            source=source.value if source else None,
        )
        return [LeadMatch(score=h.score, lead=Lead.from_record(h.lead)) for h in hits]
