from __future__ import annotations

from typing import Annotated

import strawberry

from datasources.mongo.records import LeadRecord
from resolvers.leads.add_note import add_note
from resolvers.leads.archive_lead import archive_lead
from resolvers.leads.create_lead import create_lead
from resolvers.leads.mark_do_not_call import mark_do_not_call
from resolvers.leads.set_status import set_status
from resolvers.leads.update_lead import update_lead
from resolvers.results import Failure, guarded
from schema.context import Info
from schema.errors import MutationError, from_failure
from schema.leads.enums import LeadStatus
from schema.leads.inputs import CreateLeadInput, UpdateLeadInput, plain
from schema.leads.types import Lead


@strawberry.type
class LeadPayload:
    lead: Lead


LeadResult = Annotated[
    LeadPayload | MutationError,
    strawberry.union("LeadResult"),
]


def lead_result(outcome: LeadRecord | Failure) -> LeadResult:
    if isinstance(outcome, Failure):
        return from_failure(outcome)
    return LeadPayload(lead=Lead.from_record(outcome))


@strawberry.type
class LeadMutations:
    @strawberry.mutation(description="Writes MongoDB, indexes Chroma and upserts the graph node: all or nothing.")
    async def create_lead(self, info: Info, input: CreateLeadInput) -> LeadResult:
        return lead_result(await guarded(create_lead(info.context, plain(input))))

    @strawberry.mutation
    async def update_lead(self, info: Info, id: strawberry.ID, input: UpdateLeadInput) -> LeadResult:
        return lead_result(await guarded(update_lead(info.context, id, plain(input))))

    @strawberry.mutation
    async def add_note(self, info: Info, lead_id: strawberry.ID, body: str) -> LeadResult:
        return lead_result(await guarded(add_note(info.context, lead_id, body)))

    @strawberry.mutation
    async def set_lead_status(self, info: Info, id: strawberry.ID, status: LeadStatus) -> LeadResult:
        return lead_result(await guarded(set_status(info.context, id, status.value)))

    @strawberry.mutation(description="Puts the lead on the do-not-call list and withdraws consent to call.")
    async def mark_do_not_call(self, info: Info, id: strawberry.ID) -> LeadResult:
        return lead_result(await guarded(mark_do_not_call(info.context, id)))

    @strawberry.mutation(description="Hides the lead from lists (`includeArchived` shows it again).")
    async def archive_lead(self, info: Info, id: strawberry.ID) -> LeadResult:
        return lead_result(await guarded(archive_lead(info.context, id)))
