"""The static cost of an operation, known before it runs: the store calls it may make, weighted per store.

Each field that calls a store is declared in `FIELDS` with the calls its resolver makes; it costs their weights
once per object it is selected on (a graph traversal once per hop: `scale`). A field's selection counts once
per object it may return: its `first`, else its estimate in `LIST_CAPS`, else a page for any other list.
Nothing is batched here, so the cost bounds the weighted round trips; the loaders' batching makes the actual
ones fewer. Fragments count as if inlined, every branch of an abstract type counts (an upper bound), scalars
and embedded objects cost nothing. A weight is a store's median latency per call over a by-id lookup's,
measured by bench/store_latency.py. Pure: a document, the schema and variables in, a number out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Undefined,
    Visitor,
    value_from_ast_untyped,
    visit,
)

from resolvers.fleet.optimize_routes import MAX_VEHICLES
from resolvers.fleet.vehicles_near import LIMIT as NEAR_LIMIT
from resolvers.graph.introduction_path import MAX_HOPS

# points per call to each store (datasources.instrument.STORES names), from bench/store_latency.py
# (median ms per call over PostgreSQL's by-id lookup, rounded, at least 1; the graph's is per hop)
WEIGHTS: dict[str, int] = {"redis": 1, "postgresql": 1, "mongodb": 3, "neo4j": 1, "chroma": 4}
# a mutation writes to up to three stores (and Chroma embeds): a flat charge on top of what it selects
MUTATION_WEIGHT = 10
# copies of schema/leads/types.py's limits (this layer cannot import schema); tests/resolvers/test_cost.py
# fails when they drift
MAX_SIMILAR = 20
MAX_REFERRAL_DEPTH = 5
# lists without `first` that the stores do not cap count as an estimate of their size, about twice what the
# demo data holds (4-8 stops a route, ~6 leads a company, under one referral a lead); other such lists count as a page
STOPS_PER_ROUTE = 20
STOPS_PER_LEAD = 5
COLLEAGUES = 10
REFERRALS_PER_HOP = 5


@dataclass(frozen=True)
class Touch:
    """One call to a store, once per object the field is selected on (times `scale`, an integer argument)."""

    store: str
    scale: str | None = None


PG, MONGO, GRAPH, CHROMA, REDIS = (Touch(s) for s in ("postgresql", "mongodb", "neo4j", "chroma", "redis"))

# (type, field) -> the calls its resolver makes; fields not listed read what their parent already holds
FIELDS: dict[tuple[str, str], tuple[Touch, ...]] = {
    ("Query", "me"): (),
    ("Me", "user"): (PG,),
    ("Me", "account"): (PG,),
    ("Query", "account"): (PG,),
    ("Query", "users"): (PG,),
    ("Query", "apiKeys"): (PG,),
    ("Query", "node"): (MONGO,),  # the dearest of the stores an id can name
    ("Query", "lead"): (MONGO,),
    ("Query", "leads"): (MONGO,),
    ("Query", "searchLeads"): (CHROMA, MONGO),
    ("Query", "route"): (PG,),
    ("Query", "routes"): (PG,),
    ("Query", "vehicles"): (PG,),
    ("Query", "introductionPath"): (Touch("neo4j", scale="maxHops"), MONGO),
    ("Query", "call"): (REDIS,),
    ("Query", "activeCalls"): (REDIS, REDIS),
    ("Query", "callScript"): (PG,),
    ("Query", "searchConversations"): (CHROMA, REDIS, MONGO),
    ("Call", "closer"): (PG,),
    ("CallScript", "updatedBy"): (PG,),
    ("Subscription", "callUpdates"): (REDIS,),
    ("Subscription", "liveCalls"): (REDIS,),
    ("Query", "job"): (REDIS,),
    ("Query", "vehiclesNear"): (REDIS, REDIS, PG),  # GEO search, last-seen hash, the driver's row scope
    ("Subscription", "routeUpdates"): (PG, REDIS),
    ("Subscription", "optimizationProgress"): (REDIS,),
    ("VehiclePosition", "route"): (PG,),
    ("VehiclePosition", "vehicle"): (PG,),
    ("RouteEvent", "stop"): (PG,),
    ("RouteEvent", "route"): (PG,),
    ("PlannedRoute", "vehicle"): (PG,),
    ("PlannedRoute", "stops"): (PG,),
    ("Lead", "owner"): (PG,),
    ("Lead", "account"): (PG,),
    ("Lead", "referredBy"): (GRAPH, MONGO),
    ("Lead", "referrals"): (Touch("neo4j", scale="depth"), MONGO),
    ("Lead", "colleagues"): (GRAPH, MONGO),
    ("Lead", "similar"): (CHROMA, MONGO),
    ("Lead", "liveCall"): (REDIS, REDIS),
    ("Lead", "calls"): (MONGO,),
    ("Lead", "stops"): (PG,),
    ("Call", "lead"): (MONGO,),
    ("Call", "agent"): (PG,),
    ("Route", "driver"): (PG,),
    ("Route", "vehicle"): (PG,),
    ("Route", "stops"): (PG,),
    ("Stop", "lead"): (MONGO,),
    ("Stop", "route"): (PG,),
}

# the most an integer argument can mean (a larger one is refused by its resolver, with a better message)
ARGUMENT_CAPS: dict[tuple[str, str, str], int] = {
    ("Lead", "similar", "first"): MAX_SIMILAR,
    ("Lead", "referrals", "depth"): MAX_REFERRAL_DEPTH,
    ("Query", "introductionPath", "maxHops"): MAX_HOPS,
}

# lists without `first`: how many objects they count as, given their (capped) arguments
LIST_CAPS: dict[tuple[str, str], Callable[[Mapping[str, int]], int]] = {
    ("Route", "stops"): lambda args: STOPS_PER_ROUTE,
    ("PlannedRoute", "stops"): lambda args: STOPS_PER_ROUTE,
    ("Query", "vehiclesNear"): lambda args: NEAR_LIMIT,
    ("OptimizationResult", "routes"): lambda args: MAX_VEHICLES,
    ("ApplyPlanPayload", "routes"): lambda args: MAX_VEHICLES,
    ("Lead", "stops"): lambda args: STOPS_PER_LEAD,
    ("Lead", "referrals"): lambda args: REFERRALS_PER_HOP * args.get("depth", MAX_REFERRAL_DEPTH),
    ("Lead", "colleagues"): lambda args: COLLEAGUES,
    ("IntroductionPath", "leads"): lambda args: MAX_HOPS + 1,
}


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    *,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
    page_size: int = 100,
) -> int:
    """The cost of the operation `operation_name` names (or the only one), in points; 0 when there is none."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1:
        return 0
    operation = chosen[0]
    values = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    if isinstance(variables, Mapping):
        values.update(variables)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return _Costing(schema, values, fragments, page_size).cost(operation)


class _Costing:
    def __init__(
        self,
        schema: GraphQLSchema,
        variables: dict[str, Any],
        fragments: Mapping[str, FragmentDefinitionNode],
        page_size: int,
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = fragments
        self.page_size = page_size
        self.fragment_costs: dict[str, int] = {}
        self.mutation_type = schema.mutation_type.name if schema.mutation_type else None

    def cost(self, node: OperationDefinitionNode | FragmentDefinitionNode) -> int:
        """Cost per object of the node's parent type; a fragment's is worked out once and reused per spread."""
        type_info = TypeInfo(self.schema)
        visitor = _Walk(self, type_info)
        visit(node, TypeInfoVisitor(type_info, visitor))
        return visitor.total

    def fragment_cost(self, name: str) -> int:
        if name not in self.fragment_costs:
            self.fragment_costs[name] = 0  # a cycle (refused by validation anyway) adds nothing
            fragment = self.fragments.get(name)
            self.fragment_costs[name] = self.cost(fragment) if fragment is not None else 0
        return self.fragment_costs[name]

    def arguments(self, key: tuple[str, str], field: GraphQLField, node: FieldNode) -> dict[str, int]:
        """The field's integer arguments, from the document, variables or defaults, clamped to their caps."""
        given = {a.name.value: a.value for a in node.arguments or ()}
        found: dict[str, int] = {}
        for name, argument in field.args.items():
            value = value_from_ast_untyped(given[name], self.variables) if name in given else Undefined
            if value is Undefined:  # not given, or a variable that was not sent
                value = argument.default_value
            if isinstance(value, int) and not isinstance(value, bool):
                cap = ARGUMENT_CAPS.get((*key, name), self.page_size if name == "first" else None)
                found[name] = max(0, value if cap is None else min(value, cap))
        return found

    def size(self, key: tuple[str, str], field: GraphQLField, args: Mapping[str, int]) -> int:
        """How many objects the field may return: each one costs its selection once."""
        if "first" in field.args:
            return args.get("first", ARGUMENT_CAPS.get((*key, "first"), self.page_size))
        if key in LIST_CAPS:
            return LIST_CAPS[key](args)
        kind = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if not isinstance(kind, GraphQLList):
            return 1
        if key[0].endswith("Connection") and key[1] == "edges":
            return 1  # counted by the connection's `first`
        return self.page_size

    def own(self, key: tuple[str, str], args: Mapping[str, int]) -> int:
        cost = MUTATION_WEIGHT if key[0] == self.mutation_type else 0
        for touch in FIELDS.get(key, ()):
            scale = args.get(touch.scale, ARGUMENT_CAPS.get((*key, touch.scale), 1)) if touch.scale else 1
            cost += WEIGHTS[touch.store] * scale
        return cost


class _Walk(Visitor):
    """Adds each field's own cost times the objects it is selected on, which multiply down the tree."""

    def __init__(self, costing: _Costing, type_info: TypeInfo) -> None:
        super().__init__()
        self.costing = costing
        self.type_info = type_info
        self.total = 0
        self.objects = [1]

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent, field = self.type_info.get_parent_type(), self.type_info.get_field_def()
        objects = self.objects[-1]
        if parent is None or field is None:
            self.objects.append(objects)
            return
        key = (parent.name, node.name.value)
        args = self.costing.arguments(key, field, node)
        size = self.costing.size(key, field, args)
        self.total += objects * self.costing.own(key, args)
        self.objects.append(objects * size)

    def leave_field(self, *_: Any) -> None:
        self.objects.pop()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.total += self.objects[-1] * self.costing.fragment_cost(node.name.value)
