"""The root types, composed from each domain's queries and mutations, and the schema built from them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry

from resolvers.node import node as resolve_node
from schema.accounts.queries import AccountQueries
from schema.accounts.types import Account, User
from schema.calls.mutations import CallMutations
from schema.calls.queries import CallQueries
from schema.calls.subscriptions import CallSubscriptions
from schema.calls.types import Call
from schema.context import Info
from schema.fleet.mutations import FleetMutations
from schema.fleet.queries import FleetQueries
from schema.fleet.subscriptions import FleetSubscriptions
from schema.fleet.types import Route, Stop, Vehicle
from schema.graph.mutations import GraphMutations
from schema.graph.queries import GraphQueries
from schema.identity.mutations import IdentityMutations
from schema.leads.mutations import LeadMutations
from schema.leads.queries import LeadQueries
from schema.leads.types import Lead
from schema.node import Node
from schema.sharing import SharedEventExecutor

NODE_TYPES: dict[str, Any] = {
    "Lead": Lead, "User": User, "Vehicle": Vehicle, "Route": Route, "Stop": Stop, "Account": Account, "Call": Call
}


@strawberry.type
class Query(AccountQueries, LeadQueries, FleetQueries, GraphQueries, CallQueries):
    @strawberry.field(description="Any object by its global id.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        found = await resolve_node(info.context, id=id)
        if found is None:
            return None
        type_name, record = found
        return NODE_TYPES[type_name].from_record(record)  # type: ignore[no-any-return]


@strawberry.type
class Mutation(IdentityMutations, LeadMutations, GraphMutations, FleetMutations, CallMutations):
    pass


@strawberry.type
class Subscription(CallSubscriptions, FleetSubscriptions):
    pass


def build_schema(
    extensions: Sequence[Any] = (), *, schema_class: type[strawberry.Schema] = strawberry.Schema
) -> strawberry.Schema:
    return schema_class(
        query=Query, mutation=Mutation, subscription=Subscription, types=[Stop], extensions=list(extensions),
        execution_context_class=SharedEventExecutor,
    )
