"""An edge to a lead reads only the fields its selection needs (schema/leads/selection.py), and answers every
field of `Lead` as the whole read does."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from strawberry.types.nodes import SelectedField

from resolvers.leads.reads import READS
from schema.leads.selection import record_fields
from schema.root import build_schema
from tests.client import GraphQL

# what to ask under each field of Lead that is not a scalar
SUBSELECTIONS = {
    "company": "{ name title industry size website }",
    "qualification": "{ budget authority need timeline answers { question answer } score class via qualifiedAt "
                     "callId }",
    "notes": "{ id body createdAt }",
    "consent": "{ call sms email recordedAt }",
    "owner": "{ id email }",
    "account": "{ name }",
    "referredBy": "{ id fullName }",
    "referrals": "{ id }",
    "colleagues": "{ id }",
    "similar": "(first: 2) { score lead { id } }",
    "liveCall": "{ id }",
    "calls": "{ edges { node { id } } }",
    "stops": "{ id }",
}


def lead_fields() -> set[str]:
    lead = build_schema()._schema.get_type("Lead")
    return set(lead.fields)  # type: ignore[union-attr]


def test_every_field_of_lead_says_what_it_reads() -> None:
    assert set(READS) - {"__typename"} == lead_fields()


def test_a_field_it_does_not_know_reads_the_whole_record() -> None:
    known = [SelectedField(name, {}, {}, []) for name in ("fullName", "owner")]
    assert record_fields(known) == {"first_name", "last_name", "owner_id"}
    assert record_fields([*known, SelectedField("somethingNew", {}, {}, [])]) is None


def select(name: str) -> str:
    return f"{name} {SUBSELECTIONS.get(name, '')}"


async def a_route_visiting_leads(gql: GraphQL) -> tuple[str, list[str]]:
    leads = await gql.query("{ leads(first: 6) { edges { node { id } } } }")
    lead_ids = [e["node"]["id"] for e in leads["leads"]["edges"]]
    me = (await gql.query("{ me { user { id } } }"))["me"]["user"]["id"]
    stops = [{"address": f"{n} Select St", "latitude": 40.7, "longitude": -74.0, "leadId": lead_ids[n % len(lead_ids)]}
             for n in range(len(lead_ids) + 2)]  # some lead visited twice
    await gql.query('mutation($id: ID!) { addNote(leadId: $id, body: "selected") { __typename } }', id=lead_ids[0])
    made = await gql.query(
        "mutation($input: CreateRouteInput!) { createRoute(input: $input) { ... on RoutePayload { route { id } } } }",
        input={"number": f"SELECT-{uuid4().hex[:8]}", "date": "2026-12-24", "driverId": me, "stops": stops},
    )
    return made["createRoute"]["route"]["id"], lead_ids


async def test_stop_leads_answer_every_field_as_the_whole_read(gql: GraphQL) -> None:
    route_id, lead_ids = await a_route_visiting_leads(gql)
    names = sorted(lead_fields())
    for selection in [*([n] for n in names), names]:
        fields = " ".join(select(n) for n in selection)
        through_stops = await gql.result(
            f"query($id: ID!) {{ route(id: $id) {{ stops {{ lead {{ id {fields} }} }} }} }}", id=route_id
        )
        assert "errors" not in through_stops, (selection, through_stops["errors"])
        # one MongoDB read for the stops' leads, whatever their number (plus what the selection itself reads)
        if set(selection) <= {"firstName", "fullName", "status", "company", "notes", "syncState", "owner"}:
            assert through_stops["extensions"]["stores"]["mongodb"]["calls"] == 1, selection
        stop_leads = [s["lead"] for s in through_stops["data"]["route"]["stops"]]
        aliases = " ".join(f'l{i}: lead(id: "{lead_id}") {{ id {fields} }}' for i, lead_id in enumerate(lead_ids))
        whole = await gql.query(f"{{ {aliases} }}")
        by_id: dict[str, Any] = {lead["id"]: lead for lead in whole.values()}
        assert stop_leads == [by_id[lead["id"]] for lead in stop_leads], selection


async def test_fragments_and_typename_are_read_too(gql: GraphQL) -> None:
    route_id, _ = await a_route_visiting_leads(gql)
    found = await gql.query(
        """query($id: ID!) { route(id: $id) { stops { lead { __typename ...L ... on Node { id } } } } }
        fragment L on Lead { fullName company { name } }""",
        id=route_id,
    )
    leads = [s["lead"] for s in found["route"]["stops"]]
    assert leads and all(lead["__typename"] == "Lead" and lead["fullName"] and lead["id"] for lead in leads)
