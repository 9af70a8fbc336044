"""The compiled subset's planning (resolvers/compiled/plan.py), without a server: every field of the compiled
types is either compiled or listed as not compiled, and what is outside the subset is refused (None)."""

from __future__ import annotations

import pytest
from graphql import GraphQLObjectType, parse

from resolvers.compiled import fields as F
from resolvers.compiled.plan import plan
from resolvers.ids import encode
from resolvers.permissions import Action
from schema.root import build_schema

SCHEMA = build_schema([])._schema
ROUTE_ID = encode("Route", 1)


def planned(query: str, **variables: object) -> bool:
    return plan(SCHEMA, parse(query), operation_name=None, variables=variables, max_page_size=100) is not None


def selection(type_name: str, depth: int = 1) -> str:
    """Every field of the type, relations followed `depth` levels deep."""
    graphql_type = SCHEMA.get_type(type_name)
    assert isinstance(graphql_type, GraphQLObjectType)
    parts = []
    for name, field in graphql_type.fields.items():
        if (type_name, name) in F.NOT_COMPILED:
            continue
        target = field.type
        while hasattr(target, "of_type"):
            target = target.of_type
        if isinstance(target, GraphQLObjectType):
            if (type_name, name) in F.RELATIONS and depth == 0:
                continue
            parts.append(f"{name} {{ {selection(target.name, depth - 1)} }}")
        else:
            parts.append(name)
    return " ".join(parts)


def test_every_field_of_the_compiled_types_is_compiled_or_listed() -> None:
    assert planned(f'{{ route(id: "{ROUTE_ID}") {{ {selection("Route", 2)} }} }}')
    assert planned(f"{{ routes {{ edges {{ cursor node {{ {selection('Route', 1)} }} }} "
                   "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }")
    assert planned(f'{{ vehicles(status: "available") {{ edges {{ node {{ {selection("Vehicle")} }} }} }} }}')
    assert planned(f"{{ account {{ {selection('Account')} }} }}")
    for type_name, name in F.NOT_COMPILED:
        graphql_type = SCHEMA.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType) and name in graphql_type.fields


def test_a_plan_names_what_its_root_fields_need() -> None:
    def actions(query: str) -> set[Action]:
        found = plan(SCHEMA, parse(query), operation_name=None, variables={}, max_page_size=100)
        assert found is not None
        return set(found.actions)

    assert actions("{ account { name } }") == {Action.read_users}
    assert actions(f'{{ route(id: "{ROUTE_ID}") {{ id }} account {{ id }} }}') == {Action.read_fleet,
                                                                                   Action.read_users}
    assert actions("{ vehicles { edges { cursor } } }") == {Action.read_fleet}


def test_typename_alone_reads_nothing() -> None:
    found = plan(SCHEMA, parse("{ __typename t: __typename }"), operation_name=None, variables={},
                 max_page_size=100)
    assert found is not None and found.roots == () and found.actions == frozenset()
    assert found.shape([]) == {"__typename": "Query", "t": "Query"}


@pytest.mark.parametrize("query", [
    '{ route(id: "nope") { id } }',
    "{ routes(first: 0) { edges { cursor } } }",
    '{ routes(after: "garbage") { edges { cursor } } }',
    '{ routes(driverId: "bad") { edges { cursor } } }',
    f'{{ route(id: "{ROUTE_ID}") {{ stops {{ lead {{ id owner {{ id }} }} }} }} }}',
    f'{{ route(id: "{ROUTE_ID}") {{ stops {{ lead {{ ... on Node {{ id }} }} }} }} }}',
    f'{{ route(id: "{ROUTE_ID}") {{ ... on Node {{ id }} }} }}',
    f'{{ route(id: "{ROUTE_ID}") {{ id }} vehiclesNear(lat: 1, lon: 2, radiusKm: 3) {{ distanceKm }} }}',
    '{ vehicles(first: 101) { edges { cursor } } }',
    "mutation { signIn(email: \"a\", password: \"b\") { __typename } }",
    f'{{ node(id: "{ROUTE_ID}") {{ id }} }}',
    "{ __schema { queryType { name } } }",
])
def test_outside_the_subset_is_not_planned(query: str) -> None:
    assert not planned(query)


def test_stop_leads_are_planned_with_what_they_read() -> None:
    query = (f'{{ route(id: "{ROUTE_ID}") {{ stops {{ lead {{ fullName status }} }} '
             "a: stops { lead { score } } } }")
    found = plan(SCHEMA, parse(query), operation_name=None, variables={}, max_page_size=100)
    assert found is not None and found.lead_fields == {"first_name", "last_name", "status", "score"}
    assert planned(f'{{ route(id: "{ROUTE_ID}") {{ id }} }}') and plan(
        SCHEMA, parse(f'{{ route(id: "{ROUTE_ID}") {{ id }} }}'), operation_name=None, variables={},
        max_page_size=100).lead_fields is None  # type: ignore[union-attr]


def test_directives_and_fragments_are_planned() -> None:
    query = (f'query($no: Boolean!) {{ route(id: "{ROUTE_ID}") {{ ...R a: id @include(if: $no) '
             "... on Route { stops @skip(if: true) { id } } } } fragment R on Route { number }")
    found = plan(SCHEMA, parse(query), operation_name=None, variables={"no": False}, max_page_size=100)
    assert found is not None
    assert found.shape([["7"]]) == {"route": {"number": "7"}}
    assert not planned(query, no="not a boolean")
