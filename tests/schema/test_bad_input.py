"""Bad input gets a GraphQL error or typed result naming the field and the reason: never a 500, nothing written."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import httpx
import pymongo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.client import GraphQL
from tests.servers import AppServer


def gid(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def test_unknown_ids_are_null(gql: GraphQL) -> None:
    body = await gql.result(
        "query($l: ID!, $r: ID!, $n: ID!) { lead(id: $l) { id } route(id: $r) { id } node(id: $n) { id } }",
        l=gid("Lead:0123456789abcdef01234567"), r=gid("Route:999999"), n=gid("Vehicle:424242"),
    )
    assert body == {"data": {"lead": None, "route": None, "node": None}, "extensions": body.get("extensions", {})}


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ('{ lead(id: "garbage!") { id } }', "id", "is not a valid global id"),
        (f'{{ lead(id: "{gid("Route:1")}") {{ id }} }}', "id", "expected a Lead id, got a Route id"),
        (f'{{ route(id: "{gid("Route:abc")}") {{ id }} }}', "id", "is not a valid global id"),
        ("{ leads(first: 1000) { edges { cursor } } }", "first", "must be between 1 and 100, got 1000"),
        ("{ leads(first: 0) { edges { cursor } } }", "first", "must be between 1 and 100, got 0"),
        ('{ leads(after: "nope") { edges { cursor } } }', "after", "is not a cursor from this list"),
        ("{ routes(first: 101) { edges { cursor } } }", "first", "must be between 1 and 100, got 101"),
        ('{ searchLeads(text: "  ") { score } }', "text", "must not be empty"),
        ('{ introductionPath(fromLeadId: "x", toLeadId: "y", maxHops: 9) { hops } }', "maxHops", "between 1 and 6"),
        ("{ leads(first: 1) { edges { node { referrals(depth: 9) { id } } } } }", "depth", "between 1 and 5"),
        ("{ leads(first: 1) { edges { node { similar(first: 99) { score } } } } }", "first", "between 1 and 20"),
    ],
)
async def test_bad_arguments_name_the_field(gql: GraphQL, query: str, field: str, reason: str) -> None:
    body = await gql.result(query)
    [error] = body["errors"]
    assert error["message"].startswith(f"{field}: ") and reason in error["message"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("{ leads(filter: {status: [SHINY]}) { edges { cursor } } }", "SHINY"),
        ("{ leads(orderBy: LOUDEST) { edges { cursor } } }", "LOUDEST"),
        ("{ leads(first: \"ten\") { edges { cursor } } }", "Int cannot represent"),
        ("{ nope }", "Cannot query field 'nope'"),
        ("{ leads(", "Syntax Error"),
    ],
)
async def test_invalid_documents_are_reported_not_crashed(gql: GraphQL, query: str, fragment: str) -> None:
    response = await gql.raw({"query": query})
    assert response.status_code in (200, 400)
    assert fragment in response.json()["errors"][0]["message"]


async def test_malformed_requests_get_4xx_with_a_reason(gql: GraphQL) -> None:
    not_json = await gql.raw(None, content=b"{not json", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and not_json.text
    no_query = await gql.raw({"variables": {}})
    assert no_query.status_code == 400 and "query" in no_query.text.lower()
    wrong_method = await gql.raw(None, method="PUT")
    assert wrong_method.status_code == 405


async def test_bad_mutation_input_writes_nothing(gql: GraphQL) -> None:
    before = await gql.query('{ leads(first: 100, filter: {text: "Nobody"}) { edges { node { id } } } }')
    result = await gql.query(
        'mutation { createLead(input: {firstName: "Nobody", phone: "+1999", email: "bad"}) '
        "{ __typename ... on ValidationError { field message } } }"
    )
    assert result["createLead"]["__typename"] == "ValidationError"
    after = await gql.query('{ leads(first: 100, filter: {text: "Nobody"}) { edges { node { id } } } }')
    assert after == before


async def test_query_limits_refuse_abusive_documents(gql: GraphQL) -> None:
    deep = "{ leads { edges { node { " + "referredBy { " * 14 + "id" + " }" * 14 + " } } } }"
    body = await gql.result(deep)
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    aliases = "{ " + " ".join(f"a{i}: me {{ role }}" for i in range(40)) + " }"
    body = await gql.result(aliases)
    assert "aliases" in body["errors"][0]["message"].lower()


CREATE = """mutation($input: CreateLeadInput!) { createLead(input: $input) { __typename
  ... on LeadPayload { lead { id firstName lastName tags } }
  ... on ValidationError { field message } ... on ConflictError { field message } } }"""
_unique = itertools.count()
DETAIL_KEYS = ["name", "title", "industry", "size", "website"]


def fresh_phone() -> str:
    return f"+1415557{next(_unique) % 10_000:04d}"


def test_any_create_lead_input_is_taken_or_refused_by_name(
    app_server: AppServer, store_env: dict[str, str], auth_headers: dict[str, str]
) -> None:
    """Whatever strings a client sends, createLead answers a lead or a typed error naming `input.<field>`,
    and a refused lead is in no store."""
    mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(store_env["MONGODB_URI"])
    leads = mongo[store_env["MONGODB_DATABASE"]]["leads"]
    with httpx.Client(base_url=app_server.url, timeout=30, headers=auth_headers) as http:

        @settings(max_examples=40, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(
            first_name=st.text(max_size=120),
            last_name=st.text(max_size=120),
            phone=st.one_of(st.builds(fresh_phone), st.text(max_size=20)),
            email=st.none() | st.emails() | st.text(max_size=30),
            timezone=st.sampled_from(["UTC", "Asia/Kolkata"]) | st.text(max_size=20),
            tags=st.lists(st.text(max_size=60), max_size=22),
            notes=st.lists(st.text(max_size=40), max_size=3),
            company=st.dictionaries(st.sampled_from(DETAIL_KEYS), st.text(max_size=310), max_size=3),
            score=st.integers(-10, 110),
        )
        def create(first_name: str, last_name: str, phone: str, email: str | None, timezone: str,
                   tags: list[str], notes: list[str], company: dict[str, str], score: int) -> None:
            fields = {"firstName": first_name, "lastName": last_name, "phone": phone, "email": email,
                      "timezone": timezone, "tags": tags, "notes": notes, "company": company, "score": score}
            before = leads.count_documents({})
            response = http.post("/graphql", json={"query": CREATE, "variables": {"input": fields}})
            assert response.status_code == 200, response.text
            body = response.json()
            assert "errors" not in body, body["errors"]
            result = body["data"]["createLead"]
            created = result["__typename"] == "LeadPayload"
            if created:
                assert result["lead"]["firstName"] == first_name.strip()
                assert result["lead"]["lastName"] == last_name.strip()
            else:
                assert result["field"].startswith("input.") and result["message"], result
            # nothing else writes leads meanwhile: a refusal leaves the collection as it was
            assert leads.count_documents({}) == before + created

        try:
            create()
        finally:
            mongo.close()
