"""The static cost function, without a server: known costs, and its laws over generated queries."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from graphql import (
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    is_list_type,
    parse,
    validate,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import schema.leads.types as lead_types
from ops.graphiql import CROSS_STORE
from ops.settings import Settings
from resolvers import cost
from resolvers.cost import FIELDS, LIST_CAPS, WEIGHTS, operation_cost
from schema.root import build_schema

ISSUE_7 = "{ leads(first: 100) { edges { node { similar(first: 20) { lead { similar(first: 20) { lead { fullName } } } } } } } }"  # noqa: E501
DEEPER = ("{ leads(first: 100) { edges { node { similar(first: 20) { lead { similar(first: 20) { lead { "
          "similar(first: 20) { lead { fullName } } } } } } } } } }")


@cache
def graphql_schema() -> GraphQLSchema:
    return build_schema()._schema


def cost_of(query: str, **variables: Any) -> int:
    document = parse(query)
    assert not validate(graphql_schema(), document), query
    return operation_cost(graphql_schema(), document, variables=variables, page_size=100)


def test_the_issue_7_query_and_one_level_deeper_are_over_the_default_maximum() -> None:
    mongo, chroma = WEIGHTS["mongodb"], WEIGHTS["chroma"]
    similar = chroma + mongo  # one search, then one load of its leads, for each lead it is selected on
    assert cost_of(ISSUE_7) == mongo + 100 * similar + 100 * 20 * similar
    maximum = Settings().max_query_cost
    assert maximum < cost_of(ISSUE_7) < cost_of(DEEPER)


def test_the_graphiql_cross_store_example_fits_well_under_the_maximum() -> None:
    assert cost_of(CROSS_STORE) * 5 < Settings().max_query_cost


def test_scalars_and_embedded_objects_cost_nothing() -> None:
    assert cost_of("query($id: ID!) { lead(id: $id) { fullName company { name } notes { body } } }", id="x") == (
        WEIGHTS["mongodb"]
    )
    assert cost_of("{ __typename }") == 0


def test_first_above_its_cap_costs_as_the_cap_so_the_resolver_gives_its_own_error() -> None:
    assert cost_of("{ leads(first: 100000) { edges { cursor } } }") == cost_of(
        "{ leads(first: 100) { edges { cursor } } }"
    )
    assert cost_of("{ leads(first: 1) { edges { node { similar(first: 99) { score } } } } }") == cost_of(
        "{ leads(first: 1) { edges { node { similar(first: 20) { score } } } } }"
    )


def test_graph_traversals_cost_per_hop() -> None:
    one = cost_of("query($id: ID!) { lead(id: $id) { referrals { id } } }", id="x")
    three = cost_of("query($id: ID!) { lead(id: $id) { referrals(depth: 3) { id } } }", id="x")
    assert three - one == 2 * WEIGHTS["neo4j"]


def test_the_copies_of_the_schemas_limits_match_it() -> None:
    assert cost.MAX_SIMILAR == lead_types.MAX_SIMILAR
    assert cost.MAX_REFERRAL_DEPTH == lead_types.MAX_REFERRAL_DEPTH


def test_every_declared_field_exists_and_every_root_field_is_declared() -> None:
    types = graphql_schema().type_map
    for type_name, field in [*FIELDS, *LIST_CAPS]:
        kind = types[type_name]
        assert isinstance(kind, GraphQLObjectType) and field in kind.fields, (type_name, field)
    assert {t.store for touches in FIELDS.values() for t in touches} <= set(WEIGHTS)
    for root in ("Query", "Subscription"):
        kind = types[root]
        assert isinstance(kind, GraphQLObjectType)
        missing = {f for f in kind.fields if (root, f) not in FIELDS}
        assert missing <= {"__typename"}, f"{root} fields without a declared store: {missing}"


def test_every_list_of_objects_is_counted_by_first_or_a_cap() -> None:
    """A new list field that selects store-touching objects should get an estimate, not the page-size default."""
    counted = {key for key in LIST_CAPS} | {("Query", "users"), ("Query", "apiKeys"), ("Query", "activeCalls")}
    for name, kind in graphql_schema().type_map.items():
        if not isinstance(kind, GraphQLObjectType) or name.startswith("__") or name.endswith("Connection"):
            continue
        for field_name, field in kind.fields.items():
            target = get_named_type(field.type)
            lists = is_list_type(get_nullable_type(field.type))
            reaches = isinstance(target, GraphQLObjectType) and any(k[0] == target.name for k in FIELDS)
            if lists and reaches and "first" not in field.args:
                assert (name, field_name) in counted, (name, field_name)


# Generated selections on Lead, from the fields that reach stores and some that do not.
SCALARS = st.sampled_from(["id", "fullName", "score", "company { name }", "notes { body }"])


def lead_selections(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just("owner { email }"),
        st.just("account { slug }"),
        st.just("liveCall { state }"),
        st.just("stops { sequence route { number } }"),
        children.map(lambda s: f"referredBy {{ {s} }}"),
        children.map(lambda s: f"colleagues {{ {s} }}"),
        st.tuples(st.integers(1, 5), children).map(lambda t: f"referrals(depth: {t[0]}) {{ {t[1]} }}"),
        st.tuples(st.integers(1, 20), children).map(lambda t: f"similar(first: {t[0]}) {{ score lead {{ {t[1]} }} }}"),
    )


def aliased(prefix: str) -> Callable[[list[str]], str]:
    """Fields side by side each get their own name, so no two conflict (same name, other arguments)."""
    return lambda fields: " ".join(f"{prefix}{i}: {field}" for i, field in enumerate(fields))


def selections(prefix: str = "f") -> st.SearchStrategy[str]:
    return st.recursive(
        SCALARS,
        lambda children: st.lists(st.one_of(SCALARS, lead_selections(children)), min_size=1, max_size=3).map(
            aliased(prefix)
        ),
        max_leaves=6,
    )


SELECTIONS = selections()


def leads(first: int | str, selection: str) -> str:
    return f"leads(first: {first}) {{ edges {{ node {{ {selection} }} }} }}"


@settings(max_examples=60, deadline=None)
@given(SELECTIONS, st.integers(1, 100), st.integers(1, 100))
def test_cost_is_monotone_in_first(selection: str, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert cost_of(f"{{ {leads(low, selection)} }}") <= cost_of(f"{{ {leads(high, selection)} }}")


@settings(max_examples=40, deadline=None)
@given(SELECTIONS, st.integers(1, 100))
def test_first_from_a_variable_costs_as_the_literal(selection: str, first: int) -> None:
    assert cost_of(f"query($n: Int!) {{ {leads('$n', selection)} }}", n=first) == cost_of(
        f"{{ {leads(first, selection)} }}"
    )
    assert cost_of(f"query($n: Int! = {first}) {{ {leads('$n', selection)} }}") == cost_of(
        f"{{ {leads(first, selection)} }}"
    )


@settings(max_examples=40, deadline=None)
@given(SELECTIONS, st.integers(1, 30), st.integers(2, 4))
def test_aliases_of_the_same_field_add_up(selection: str, first: int, copies: int) -> None:
    field = leads(first, selection)
    aliased = " ".join(f"a{i}: {field}" for i in range(copies))
    assert cost_of(f"{{ {aliased} }}") == copies * cost_of(f"{{ {field} }}")


@settings(max_examples=40, deadline=None)
@given(selections("x"), selections("y"), st.integers(1, 30))
def test_selections_add_up(one: str, other: str, first: int) -> None:
    base = cost_of(f"{{ {leads(first, 'id')} }}")
    both = cost_of(f"{{ {leads(first, one + ' ' + other)} }}") - base
    assert both == cost_of(f"{{ {leads(first, one)} }}") - base + cost_of(f"{{ {leads(first, other)} }}") - base


@settings(max_examples=40, deadline=None)
@given(SELECTIONS, st.integers(1, 30))
def test_a_fragment_costs_what_its_inlined_fields_cost(selection: str, first: int) -> None:
    inlined = cost_of(f"{{ {leads(first, selection)} }}")
    spread = f"{{ {leads(first, '...F')} }} fragment F on Lead {{ {selection} }}"
    nested = f"{{ {leads(first, '...F')} }} fragment F on Lead {{ ...G }} fragment G on Lead {{ {selection} }}"
    inline = f"{{ {leads(first, '... on Lead { ' + selection + ' }')} }}"
    assert cost_of(spread) == cost_of(nested) == cost_of(inline) == inlined
