from __future__ import annotations

import itertools
from typing import Any

from tests.client import GraphQL

_phones = itertools.count(1000)

RESULT = """
  __typename
  ... on LeadPayload { lead { id fullName phone email status doNotCall consent { call } archivedAt tags
                              notes { body } company { name } similar(first: 3) { lead { id } } colleagues { id } } }
  ... on ValidationError { field message }
  ... on NotFoundError { field message }
  ... on ConflictError { field message }
  ... on StoreUnavailableError { store message }
"""

CREATE = "mutation($input: CreateLeadInput!) { createLead(input: $input) { " + RESULT + " } }"


def new_phone() -> str:
    return f"+1415555{next(_phones):04d}"


async def create(gql: GraphQL, **fields: Any) -> dict[str, Any]:
    data = {"firstName": "Test", "lastName": "Lead", "phone": new_phone(), **fields}
    return (await gql.query(CREATE, input=data))["createLead"]


async def test_create_lead_writes_mongodb_chroma_and_graph(gql: GraphQL) -> None:
    made = await create(
        gql, firstName="Rosa", lastName="Parkes", email="Rosa@Example.com", company={"name": "Cold Chain Co 9"},
        notes=["Runs refrigerated trucks for frozen food; wants temperature alerts"], tags=["Fleet", "fleet", "EV"],
    )
    assert made["__typename"] == "LeadPayload", made
    lead = made["lead"]
    assert lead["email"] == "Rosa@example.com" and lead["tags"] == ["fleet", "ev"]
    colleague = await create(gql, firstName="Sam", company={"name": "Cold Chain Co 9"})
    assert colleague["lead"]["colleagues"] == [{"id": lead["id"]}]
    hits = await gql.query(
        '{ searchLeads(text: "Rosa Parkes refrigerated trucks frozen food temperature alerts", first: 3) '
        "{ lead { id } } }"
    )
    assert lead["id"] in [h["lead"]["id"] for h in hits["searchLeads"]]


async def test_create_lead_refuses_bad_phone_and_email_naming_the_field(gql: GraphQL) -> None:
    bad_phone = await create(gql, phone="12345")
    assert bad_phone == {
        "__typename": "ValidationError",
        "field": "input.phone",
        "message": "must be an international number such as +14155550123",
    }
    bad_email = await create(gql, email="not-an-email")
    assert bad_email["__typename"] == "ValidationError" and bad_email["field"] == "input.email"
    bad_tz = await create(gql, timezone="Mars/Olympus")
    assert bad_tz["__typename"] == "ValidationError" and bad_tz["field"] == "input.timezone"
    bad_owner = await create(gql, ownerId="not-an-id")
    assert bad_owner["__typename"] == "ValidationError" and bad_owner["field"] == "input.ownerId"


async def test_duplicate_phone_is_a_conflict_and_writes_nothing(gql: GraphQL) -> None:
    phone = new_phone()
    first = await create(gql, phone=phone, firstName="Once")
    assert first["__typename"] == "LeadPayload"
    again = await create(gql, phone=phone, firstName="Twice")
    assert again["__typename"] == "ConflictError" and again["field"] == "input.phone"
    found = await gql.query('{ leads(first: 50, filter: {text: "Twice"}) { edges { node { id } } } }')
    assert found["leads"]["edges"] == []


async def test_update_note_status_do_not_call_and_archive(gql: GraphQL) -> None:
    lead = (await create(gql, firstName="Maya", consent={"call": True}))["lead"]
    update = "mutation($id: ID!, $input: UpdateLeadInput!) { updateLead(id: $id, input: $input) { " + RESULT + " } }"
    changes = {"lastName": "Angelo", "company": {"name": "Poetry Freight"}}
    changed = await gql.query(update, id=lead["id"], input=changes)
    assert changed["updateLead"]["lead"]["fullName"] == "Maya Angelo"
    assert changed["updateLead"]["lead"]["company"]["name"] == "Poetry Freight"
    empty = await gql.query(update, id=lead["id"], input={})
    assert empty["updateLead"]["__typename"] == "ValidationError"

    noted = await gql.query(
        "mutation($id: ID!) { addNote(leadId: $id, body: \"Call back about EV vans\") { " + RESULT + " } }",
        id=lead["id"],
    )
    assert noted["addNote"]["lead"]["notes"][-1]["body"] == "Call back about EV vans"
    blank_note = "mutation($id: ID!) { addNote(leadId: $id, body: \"  \") { " + RESULT + " } }"
    blank = await gql.query(blank_note, id=lead["id"])
    assert blank["addNote"] == {"__typename": "ValidationError", "field": "body", "message": "must not be empty"}

    status = await gql.query(
        "mutation($id: ID!) { setLeadStatus(id: $id, status: QUALIFIED) { " + RESULT + " } }", id=lead["id"]
    )
    assert status["setLeadStatus"]["lead"]["status"] == "QUALIFIED"
    dnc = await gql.query("mutation($id: ID!) { markDoNotCall(id: $id) { " + RESULT + " } }", id=lead["id"])
    assert dnc["markDoNotCall"]["lead"]["doNotCall"] is True
    assert dnc["markDoNotCall"]["lead"]["consent"]["call"] is False
    archived = await gql.query("mutation($id: ID!) { archiveLead(id: $id) { " + RESULT + " } }", id=lead["id"])
    assert archived["archiveLead"]["lead"]["archivedAt"]
    listed = await gql.query('{ leads(first: 50, filter: {text: "Angelo"}) { edges { node { id } } } }')
    assert listed["leads"]["edges"] == []
    shown = await gql.query(
        '{ leads(first: 50, filter: {text: "Angelo", includeArchived: true}) { edges { node { id } } } }'
    )
    assert [e["node"]["id"] for e in shown["leads"]["edges"]] == [lead["id"]]


async def test_link_and_unlink_leads_change_referrals(gql: GraphQL) -> None:
    a = (await create(gql, firstName="Referrer"))["lead"]["id"]
    b = (await create(gql, firstName="Referred"))["lead"]["id"]
    c = (await create(gql, firstName="Grandchild"))["lead"]["id"]
    link = (
        "mutation($a: ID!, $b: ID!) { linkLeads(fromId: $a, toId: $b) { __typename "
        "... on LinkPayload { referrer { id } referred { id } } ... on ValidationError { field message } } }"
    )
    assert (await gql.query(link, a=a, b=b))["linkLeads"]["referred"]["id"] == b
    await gql.query(link, a=b, b=c)
    tree = await gql.query(
        "query($id: ID!) { lead(id: $id) { referrals(depth: 2) { id } } b: lead(id: $id) { referrals { id } } }",
        id=a,
    )
    assert [x["id"] for x in tree["lead"]["referrals"]] == [b, c]
    assert [x["id"] for x in tree["b"]["referrals"]] == [b]
    by = await gql.query("query($id: ID!) { lead(id: $id) { referredBy { id } } }", id=c)
    assert by["lead"]["referredBy"]["id"] == b
    path = await gql.query(
        "query($a: ID!, $c: ID!) { introductionPath(fromLeadId: $a, toLeadId: $c, maxHops: 3) "
        "{ hops relations leads { id } } }",
        a=a, c=c,
    )
    assert path["introductionPath"] == {"hops": 2, "relations": ["REFERRED", "REFERRED"],
                                        "leads": [{"id": a}, {"id": b}, {"id": c}]}
    self_link = await gql.query(link, a=a, b=a)
    assert self_link["linkLeads"]["__typename"] == "ValidationError"
    unlink = link.replace("linkLeads", "unlinkLeads")
    await gql.query(unlink, a=b, b=c)
    again = await gql.query("query($id: ID!) { lead(id: $id) { referrals(depth: 2) { id } } }", id=a)
    assert [x["id"] for x in again["lead"]["referrals"]] == [b]


ROUTE = """
  __typename
  ... on RoutePayload { route { id number status driver { id } vehicle { id }
                                stops { id sequence lead { id } status } } }
  ... on ValidationError { field message }
  ... on NotFoundError { field message }
  ... on ConflictError { field message }
"""


async def test_routes_vehicles_and_stops(gql: GraphQL) -> None:
    vehicle = await gql.query(
        'mutation { createVehicle(input: {plate: "ny-4242", name: "Reefer 1", kind: TRUCK, capacityKg: 9000}) '
        "{ __typename ... on VehiclePayload { vehicle { id plate } } } }"
    )
    assert vehicle["createVehicle"]["vehicle"]["plate"] == "NY-4242"
    dup = await gql.query(
        'mutation { createVehicle(input: {plate: "NY-4242", name: "Again"}) '
        "{ __typename ... on ConflictError { field } } }"
    )
    assert dup["createVehicle"] == {"__typename": "ConflictError", "field": "input.plate"}
    lead = (await create(gql, firstName="Stopper"))["lead"]["id"]
    me = (await gql.query("{ me { user { id } } }"))["me"]["user"]["id"]
    made = await gql.query(
        "mutation($input: CreateRouteInput!) { createRoute(input: $input) { " + ROUTE + " } }",
        input={
            "number": "T-1", "date": "2026-12-01", "driverId": me,
            "vehicleId": vehicle["createVehicle"]["vehicle"]["id"],
            "stops": [
                {"address": "1 A St", "latitude": 40.7, "longitude": -74.0, "leadId": lead},
                {"address": "2 B St", "latitude": 40.71, "longitude": -74.01},
            ],
        },
    )
    route = made["createRoute"]["route"]
    assert route["status"] == "ASSIGNED" and [s["sequence"] for s in route["stops"]] == [1, 2]
    assert route["stops"][0]["lead"] == {"id": lead}
    added = await gql.query(
        "mutation($r: ID!) { addStop(routeId: $r, input: {address: \"3 C St\", latitude: 40.72, longitude: -74.02}) "
        "{ " + ROUTE + " } }",
        r=route["id"],
    )
    stops = added["addStop"]["route"]["stops"]
    assert len(stops) == 3
    order = [stops[2]["id"], stops[0]["id"], stops[1]["id"]]
    reordered = await gql.query(
        "mutation($r: ID!, $s: [ID!]!) { reorderStops(routeId: $r, stopIds: $s) { " + ROUTE + " } }",
        r=route["id"], s=order,
    )
    assert [s["id"] for s in reordered["reorderStops"]["route"]["stops"]] == order
    partial = await gql.query(
        "mutation($r: ID!, $s: [ID!]!) { reorderStops(routeId: $r, stopIds: $s) { " + ROUTE + " } }",
        r=route["id"], s=order[:2],
    )
    assert partial["reorderStops"]["__typename"] == "ValidationError"
    status = await gql.query(
        "mutation($s: ID!) { updateStopStatus(stopId: $s, status: ARRIVED) "
        "{ __typename ... on StopPayload { stop { status arrivedAt } } } }",
        s=order[0],
    )
    assert status["updateStopStatus"]["stop"]["status"] == "ARRIVED"
    assert status["updateStopStatus"]["stop"]["arrivedAt"]
    kept = await gql.query(
        "mutation($r: ID!) { assignRoute(routeId: $r) { " + ROUTE + " } }", r=route["id"]
    )
    assert kept["assignRoute"]["route"]["driver"] is not None  # an argument not given changes nothing
    unassigned = await gql.query(
        "mutation($r: ID!) { assignRoute(routeId: $r, driverId: null) { " + ROUTE + " } }", r=route["id"]
    )
    assert unassigned["assignRoute"]["route"]["driver"] is None
    assert unassigned["assignRoute"]["route"]["vehicle"] == kept["assignRoute"]["route"]["vehicle"] is not None
    duplicate = await gql.query(
        "mutation($input: CreateRouteInput!) { createRoute(input: $input) { " + ROUTE + " } }",
        input={"number": "T-1", "date": "2026-12-01"},
    )
    assert duplicate["createRoute"] == {"__typename": "ConflictError", "field": "input.number",
                                        "message": "route number 'T-1' is already used"}


UPDATE_PARTS = (
    "mutation($id: ID!, $input: UpdateLeadInput!) { updateLead(id: $id, input: $input) { __typename "
    "... on LeadPayload { lead { consent { call sms email } company { name title industry } "
    "qualification { budget need } } } ... on ValidationError { field message } } }"
)


async def test_update_changes_only_the_consent_flags_and_details_given(gql: GraphQL) -> None:
    made = await create(gql, firstName="Ada", consent={"call": True, "email": True},
                        company={"name": "Lovelace Logistics", "title": "COO"}, qualification={"budget": "50k"})
    lead_id = made["lead"]["id"]

    async def update(**fields: Any) -> dict[str, Any]:
        changed = (await gql.query(UPDATE_PARTS, id=lead_id, input=fields))["updateLead"]
        assert changed["__typename"] == "LeadPayload", changed
        return changed["lead"]

    sms_only = await update(consent={"sms": True})
    assert sms_only["consent"] == {"call": True, "sms": True, "email": True}
    call_off = await update(consent={"call": False})
    assert call_off["consent"] == {"call": False, "sms": True, "email": True}
    null_is_unchanged = await update(consent={"email": None, "sms": False})
    assert null_is_unchanged["consent"] == {"call": False, "sms": False, "email": True}

    title = await update(company={"title": "CEO"}, qualification={"need": "cold chain"})
    assert title["company"] == {"name": "Lovelace Logistics", "title": "CEO", "industry": None}
    assert title["qualification"] == {"budget": "50k", "need": "cold chain"}
    industry = await update(company={"industry": "freight"})
    assert industry["company"] == {"name": "Lovelace Logistics", "title": "CEO", "industry": "freight"}

    nothing = (await gql.query(UPDATE_PARTS, id=lead_id, input={"consent": {}}))["updateLead"]
    assert nothing["__typename"] == "ValidationError" and nothing["field"] == "input"


async def test_create_lead_consent_defaults_to_none_given(gql: GraphQL) -> None:
    read = "query($id: ID!) { lead(id: $id) { consent { call sms email recordedAt } } }"
    plain_lead = (await create(gql, firstName="NoConsent"))["lead"]["id"]
    assert (await gql.query(read, id=plain_lead))["lead"]["consent"] == {
        "call": False, "sms": False, "email": False, "recordedAt": None
    }
    sms_lead = (await create(gql, firstName="SmsOnly", consent={"sms": True, "call": None}))["lead"]["id"]
    consent = (await gql.query(read, id=sms_lead))["lead"]["consent"]
    assert (consent["call"], consent["sms"], consent["email"]) == (False, True, False) and consent["recordedAt"]
