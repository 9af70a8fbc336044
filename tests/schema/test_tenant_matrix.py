"""An adversarial tenant matrix: acme (its owner, and an agent for a scoped role) aims every id-taking root field
of the schema, over HTTP and WebSocket, at the objects of another tenant, globex.

Every attempt must come back not found (null, empty, NotFoundError) or forbidden (FORBIDDEN, PermissionDenied),
an id of the wrong type may also be refused as bad input, and nothing may carry a globex object or an HTTP 5xx /
unexpected server error. Ids are globex's own, globex ids of another type, and forged ids: a globex object's key
re-encoded as every other type. Afterwards globex's rows (PostgreSQL), documents (MongoDB), graph (FalkorDB) and
Redis keys must read exactly as before, and acme's subscribers must hear nothing of globex's call.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pymongo
import pytest
import redis
from bson import ObjectId
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from graphql import GraphQLInputObjectType, GraphQLSchema, build_schema, get_named_type
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ops.voice import DEV_KEY_FILE
from resolvers.ids import INT_KEYED, decode, encode
from tests.client import sign_in
from tests.servers import AppServer, app_client_state_key
from voice.client_state import encode as encode_client_state
from voice.signature import load_private_key
from voice.simulator import envelope, signed_headers

ROOT = Path(__file__).resolve().parents[2]
SDL = ROOT / "schema" / "schema.graphql"
TYPES = ("Lead", "Route", "Stop", "Vehicle", "User", "Account", "Call", "ApiKey")
TABLES = {"Account": "accounts", "User": "users", "Vehicle": "vehicles", "Route": "routes", "Stop": "stops",
          "ApiKey": "api_keys"}
PG_TABLES = ("users", "refresh_tokens", "api_keys", "invites", "vehicles", "routes", "stops")
_phones = itertools.count(1)
_numbers = itertools.count(1)

# outcomes of one attempt
NOT_FOUND, FORBIDDEN, INVALID, OWN, LEAKED, ERROR, UNEXPECTED = (
    "not found", "forbidden", "invalid", "own object", "LEAKED", "SERVER ERROR", "UNEXPECTED"
)
FAILED = (LEAKED, ERROR, UNEXPECTED)
REFUSALS = {NOT_FOUND, FORBIDDEN}


# -- helpers ------------------------------------------------------------------------------------------------------


def daytime_zone() -> str:
    """A fixed-offset zone where it is early afternoon now, so calling hours allow the call."""
    offset = (13 - datetime.now(UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def ws_client(app: AppServer, token: str) -> Client:
    transport = WebsocketsTransport(url=app.ws, close_timeout=0.5, init_payload={"authorization": f"Bearer {token}"})
    return Client(transport=transport, fetch_schema_from_transport=False)


class Api:
    """GraphQL over one shared httpx client; answers (status, body) and never raises on errors."""

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url, self.http = url, http

    async def post(self, token: str, document: str, variables: dict[str, Any] | None = None) -> tuple[int, Any]:
        for _ in range(4):
            response = await self.http.post(self.url, json={"query": document, "variables": variables},
                                            headers={"authorization": f"Bearer {token}"})
            if response.status_code != 429:  # the caller's cost budget: wait as told, as any client would
                break
            await asyncio.sleep(min(float(response.headers.get("retry-after", "1")), 5.0))
        try:
            body = response.json()
        except ValueError:
            body = {"raw": response.text}
        return response.status_code, body

    async def data(self, token: str, document: str, **variables: Any) -> dict[str, Any]:
        status, body = await self.post(token, document, variables)
        assert status == 200 and not body.get("errors"), (status, body)
        return body["data"]  # type: ignore[no-any-return]


def strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def empty(value: Any) -> bool:
    if value is None or value == [] or value == {}:
        return True
    return isinstance(value, dict) and value.get("edges") == []


def id_fields(schema: GraphQLSchema) -> dict[str, set[str]]:
    """Root Query/Mutation/Subscription fields, by root, with an argument that is, or holds (input objects), an ID."""

    def holds_id(t: Any, seen: frozenset[str] = frozenset()) -> bool:
        named = get_named_type(t)
        if named.name == "ID":
            return True
        if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
            return any(holds_id(f.type, seen | {named.name}) for f in named.fields.values())
        return False

    found: dict[str, set[str]] = {"query": set(), "mutation": set(), "subscription": set()}
    for kind, root in zip(found, (schema.query_type, schema.mutation_type, schema.subscription_type), strict=True):
        if root is None:
            continue
        for name, f in root.fields.items():
            if any(holds_id(a.type) for a in f.args.values()):
                found[kind].add(name)
    return found


def sdl_id_fields(*kinds: str) -> set[str]:
    """The id-taking root fields of these kinds in schema/schema.graphql and in the schema the code serves (the
    checked-in file may lag the code; the matrix covers both)."""
    from schema.root import build_schema as build_served

    in_file, served = id_fields(build_schema(SDL.read_text())), id_fields(build_schema(build_served().as_str()))
    return {name for kind in kinds for name in in_file[kind] | served[kind]}


# -- the world: globex's objects, acme's callers and scratch objects ------------------------------------------------


@dataclass
class World:
    api: Api
    app: AppServer
    env: dict[str, str]
    acme_id: int
    globex_id: int
    globex_owner: str
    callers: dict[str, str]  # name -> token (acme)
    globex: dict[str, list[str]]  # type -> sample global ids
    fingerprints: set[str]
    globex_call: str
    globex_users: list[str]
    acme_lead: str
    acme_lead2: str
    acme_route: str
    acme_stop: str
    acme_twin: str
    acme_vehicle: str
    owners: dict[str, int | None] = field(default_factory=dict)  # global id -> account id (None: nothing)


@dataclass
class Attempt:
    caller: str
    field: str
    slot: str
    kind: str  # globex | wrong-type | forged | hostile | list | nested
    id: str
    outcome: str = ""
    detail: str = ""

    def line(self) -> str:
        return f"{self.caller:6} {self.slot:28} {self.kind:10} {self.id!r}: {self.outcome} {self.detail}"[:400]


async def snapshot(world: World) -> dict[str, Any]:
    """Everything globex holds in PostgreSQL, MongoDB, the graph and Redis, as comparable values."""
    env, gid = world.env, world.globex_id
    shot: dict[str, Any] = {}
    engine = create_async_engine(env["POSTGRES_URL"])
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT * FROM accounts WHERE id = :a"), {"a": gid})
            shot["pg:accounts"] = [tuple(r) for r in rows]
            for table in PG_TABLES:
                rows = await conn.execute(text(f"SELECT * FROM {table} WHERE account_id = :a ORDER BY id"), {"a": gid})
                shot[f"pg:{table}"] = [tuple(r) for r in rows]
    finally:
        await engine.dispose()

    def blocking() -> None:
        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(env["MONGODB_URI"], serverSelectionTimeoutMS=5000) as client:
            db: Any = client[env["MONGODB_DATABASE"]]
            for coll in ("leads", "call_logs"):
                shot[f"mongo:{coll}"] = sorted(
                    (repr(doc) for doc in db[coll].find({"account_id": gid})), key=str
                )
        with redis.Redis.from_url(env["REDIS_URL"]) as r:
            names = sorted(r.scan_iter(match=f"sb:acct:{gid}:*", count=1000))
            names += [k for k in (f"sb:auth:user:{decode(u)[1]}:epoch".encode() for u in world.globex_users)
                      if r.exists(k)]
            shot["redis"] = {k: r.dump(k) for k in names}
        from falkordb import FalkorDB

        graph_url = env["NEO4J_URI"].replace("falkordb://", "redis://")
        falkor = FalkorDB.from_url(graph_url)
        try:
            graph = falkor.select_graph(env["NEO4J_DATABASE"])
            nodes = graph.ro_query("MATCH (n) WHERE n.account_id = $a RETURN labels(n), properties(n)", {"a": gid})
            rels = graph.ro_query(
                "MATCH (a)-[r]->(b) WHERE a.account_id = $a OR b.account_id = $a "
                "RETURN labels(a), a.id, a.name, type(r), labels(b), b.id, b.name, b.account_id", {"a": gid}
            )
            shot["graph:nodes"] = sorted(repr(r) for r in nodes.result_set)
            shot["graph:rels"] = sorted(repr(r) for r in rels.result_set)
        finally:
            falkor.connection.close()

    await asyncio.to_thread(blocking)
    return shot


async def owners_of(world: World, ids: Iterable[str]) -> dict[str, int | None]:
    """The account that owns each global id's object (None: no such object), read straight from the stores."""
    env, ids = world.env, sorted(set(ids))
    found: dict[str, int | None] = {}
    engine = create_async_engine(env["POSTGRES_URL"])
    try:
        async with engine.connect() as conn:
            for gid in ids:
                try:
                    type_name, key = decode(gid)
                except Exception:
                    found[gid] = None  # not even a valid id
                    continue
                if type_name in TABLES:
                    try:
                        number = int(key)
                    except ValueError:
                        number = -1
                    if not 0 <= number < 2**63:
                        found[gid] = None
                        continue
                    column = "id" if type_name == "Account" else "account_id"
                    row = await conn.execute(text(f"SELECT {column} FROM {TABLES[type_name]} WHERE id = :k"),
                                             {"k": number})
                    found[gid] = row.scalar()
    finally:
        await engine.dispose()

    def blocking() -> None:
        client: pymongo.MongoClient[dict[str, Any]]
        with pymongo.MongoClient(env["MONGODB_URI"], serverSelectionTimeoutMS=5000) as client, \
                redis.Redis.from_url(env["REDIS_URL"]) as r:
            db: Any = client[env["MONGODB_DATABASE"]]
            for gid in ids:
                if gid in found:
                    continue
                type_name, key = decode(gid)
                owner = None
                if type_name == "Lead" and ObjectId.is_valid(key):
                    doc = db.leads.find_one({"_id": ObjectId(key)}, {"account_id": 1})
                    owner = doc["account_id"] if doc else None
                elif type_name == "Call":
                    live = [a for a in (world.acme_id, world.globex_id) if r.exists(f"sb:acct:{a}:call:{key}")]
                    doc = db.call_logs.find_one({"_id": key}, {"account_id": 1})
                    owner = live[0] if live else (doc["account_id"] if doc else None)
                found[gid] = owner

    await asyncio.to_thread(blocking)
    return found


LEAD = ("mutation($input: CreateLeadInput!) { createLead(input: $input) { __typename "
        "... on LeadPayload { lead { id } } } }")
START = "mutation($id: ID!) { startCall(leadId: $id) { __typename ... on CallPayload { call { id state } } } }"
CALL_STATE = "query($id: ID!) { call(id: $id) { id state live } }"


@pytest.fixture(scope="module")
async def world(app_server: AppServer, store_env: dict[str, str], demo_users: list[dict[str, str]]) -> Any:
    url = app_server.graphql
    token = {}
    for account, role, n in [("acme", "owner", 0), ("acme", "agent", 0), ("globex", "owner", 0)]:
        user = [u for u in demo_users if u["account"] == account and u["role"] == role][n]
        token[(account, role)] = sign_in(url, user["email"], user["password"])["accessToken"]
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=16)) as http:
        api = Api(url, http)
        g = token[("globex", "owner")]
        a = token[("acme", "owner")]

        # globex: a fresh lead with consent, kept on the line (a number ending in 9), and its call
        phone = f"+1415557{next(_phones) % 1000:03d}9"
        made = await api.data(g, LEAD, input={"firstName": "Globex", "lastName": "Secret", "phone": phone,
                                              "consent": {"call": True}, "timezone": daytime_zone(),
                                              "notes": ["globex-only cryogenic widget negotiations"]})
        call_lead = made["createLead"]["lead"]["id"]
        started = (await api.data(g, START, id=call_lead))["startCall"]
        assert started["__typename"] == "CallPayload", started
        call_id = started["call"]["id"]
        deadline = time.monotonic() + 15
        while True:
            state = (await api.data(g, CALL_STATE, id=call_id))["call"]["state"]
            if state == "ANSWERED" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert state == "ANSWERED", state
        key = await api.data(g, 'mutation { createApiKey(name: "globex tenant-matrix key", role: VIEWER) '
                                "{ __typename ... on ApiKeyCreatedPayload { apiKey { id } } } }")
        api_key = key["createApiKey"]["apiKey"]["id"]

        inv: dict[str, Any] = {}
        for part in ("{ account { id } users { id email } apiKeys { id } }",  # small queries: MAX_QUERY_COST
                     "{ leads(first: 100, filter: {includeArchived: true}) "
                     "{ edges { node { id phone owner { id } company { name } } } } }",
                     "{ routes(first: 100) { edges { node { id stops { id } } } } }",
                     "{ vehicles(first: 100) { edges { node { id plate } } } }"):
            inv |= await api.data(g, part)
        leads = [e["node"] for e in inv["leads"]["edges"]]
        routes = [e["node"] for e in inv["routes"]["edges"]]
        stops = [s["id"] for r in routes for s in r["stops"]]
        vehicles = [e["node"] for e in inv["vehicles"]["edges"]]
        users = inv["users"]
        fingerprints = {call_id, inv["account"]["id"], *(k["id"] for k in inv["apiKeys"]), *stops}
        for group in (leads, routes, vehicles, users):
            fingerprints |= {x["id"] for x in group}
        # and what names a globex object without its id (phones may repeat across tenants: not a fingerprint)
        fingerprints |= {x["email"] for x in users} | {x["plate"] for x in vehicles}
        globex_id = int(decode(inv["account"]["id"])[1])
        owned = [x["id"] for x in leads if x["owner"]]
        unowned = [x["id"] for x in leads if not x["owner"]]
        globex = {
            "Lead": list(dict.fromkeys([call_lead, *owned[:1], *unowned[:1]])),
            "Route": [r["id"] for r in routes][:2],
            "Stop": stops[:1] + stops[-1:],
            "Vehicle": [v["id"] for v in vehicles][:2],
            "User": [users[0]["id"], *[u["id"] for u in users if "agent" in u["email"]][:1],
                     *[u["id"] for u in users if "driver" in u["email"]][:1]],
            "Account": [inv["account"]["id"]],
            "Call": [call_id],
            "ApiKey": [api_key],
        }
        assert all(globex.values()), globex

        # acme's scratch objects, containers for the "acme object + globex member" attempts
        acme_leads = []
        for n in range(2):
            made = await api.data(a, LEAD, input={"firstName": f"Acme{n}",
                                                  "phone": f"+1415557{next(_phones) % 1000:03d}1"})
            acme_leads.append(made["createLead"]["lead"]["id"])
        # a twin of globex's leads in acme: the same company (graph) and the same words (Chroma)
        company = next(x["company"]["name"] for x in leads if x["company"]["name"])
        made = await api.data(a, LEAD, input={"firstName": "Twin", "phone": f"+1415557{next(_phones) % 1000:03d}3",
                                              "company": {"name": company},
                                              "notes": ["globex-only cryogenic widget negotiations"]})
        twin = made["createLead"]["lead"]["id"]
        route = await api.data(
            a, "mutation($input: CreateRouteInput!) { createRoute(input: $input) { __typename "
               "... on RoutePayload { route { id stops { id } } } } }",
            input={"number": f"TM-{uuid.uuid4().hex[:8]}", "date": date.today().isoformat(),
                   "stops": [{"address": "1 Scratch St", "latitude": 40.7, "longitude": -74.0,
                              "leadId": acme_leads[0]}]},
        )
        acme_route = route["createRoute"]["route"]
        van = await api.data(
            a, "mutation($input: CreateVehicleInput!) { createVehicle(input: $input) { __typename "
               "... on VehiclePayload { vehicle { id } } } }",
            input={"plate": f"TM{uuid.uuid4().hex[:8].upper()}", "name": "Scratch van"},
        )
        acme_id = int(decode((await api.data(a, "{ account { id } }"))["account"]["id"])[1])
        assert acme_id != globex_id
        yield World(
            api=api, app=app_server, env=store_env, acme_id=acme_id, globex_id=globex_id, globex_owner=g,
            callers={"owner": a, "agent": token[("acme", "agent")]}, globex=globex, fingerprints=fingerprints,
            globex_call=call_id, globex_users=[u["id"] for u in users], acme_lead=acme_leads[0],
            acme_lead2=acme_leads[1], acme_route=acme_route["id"], acme_twin=twin,
            acme_stop=acme_route["stops"][0]["id"], acme_vehicle=van["createVehicle"]["vehicle"]["id"],
        )


# -- the attempts ---------------------------------------------------------------------------------------------------

ERR = "__typename ... on UserError { message } ... on NotFoundError { field } ... on ValidationError { field }"
LEAD_P = "... on LeadPayload { lead { id phone } }"
ROUTE_P = "... on RoutePayload { route { id driver { id } vehicle { id } stops { id lead { id } } } }"
STOP_P = "... on StopPayload { stop { id status } }"
CALL_P = "... on CallPayload { call { id state } }"
LINK_P = "... on LinkPayload { referrer { id } referred { id } }"
USER_P = "... on UserPayload { user { id email role active } }"
KEY_P = "... on ApiKeyPayload { apiKey { id revokedAt } }"
JOB_P = "... on OptimizationJobPayload { job { id status } }"
PLAN_P = "... on ApplyPlanPayload { routes { id stops { id } } }"
STOP_IN = {"address": "9 Nowhere Rd", "latitude": 1.0, "longitude": 2.0}


@dataclass(frozen=True)
class Slot:
    name: str  # field.argument
    field: str
    type: str  # the type of id the argument expects ("*" for node: any)
    document: str
    variables: Callable[[World, str], dict[str, Any]]
    mutation: bool = False
    # refusals accepted for the right type of id besides not-found and forbidden (a globex member of an acme object)
    also: frozenset[str] = frozenset()


def m(field: str, decl: str, args: str, payload: str) -> str:
    return f"mutation({decl}) {{ {field}({args}) {{ {ERR} {payload} }} }}"


def number() -> str:
    return f"TMX-{next(_numbers)}-{uuid.uuid4().hex[:6]}"


def new_phone() -> str:
    return f"+1415557{next(_phones) % 1000:03d}2"


SLOTS = [
    # queries
    Slot("lead.id", "lead", "Lead", "query($id: ID!) { lead(id: $id) { id phone owner { id } } }",
         lambda w, i: {"id": i}),
    Slot("leads.filter.ownerId", "leads", "User",
         "query($id: ID!) { leads(first: 100, filter: {ownerId: $id, includeArchived: true}) "
         "{ edges { node { id phone } } } }", lambda w, i: {"id": i}),
    Slot("route.id", "route", "Route", "query($id: ID!) { route(id: $id) { id stops { id lead { id } } } }",
         lambda w, i: {"id": i}),
    Slot("routes.driverId", "routes", "User",
         "query($id: ID!) { routes(first: 100, driverId: $id) { edges { node { id driver { id } } } } }",
         lambda w, i: {"id": i}),
    Slot("introductionPath.fromLeadId", "introductionPath", "Lead",
         "query($a: ID!, $b: ID!) { introductionPath(fromLeadId: $a, toLeadId: $b) { hops leads { id } } }",
         lambda w, i: {"a": i, "b": w.acme_lead}),
    Slot("introductionPath.toLeadId", "introductionPath", "Lead",
         "query($a: ID!, $b: ID!) { introductionPath(fromLeadId: $a, toLeadId: $b) { hops leads { id } } }",
         lambda w, i: {"a": w.acme_lead, "b": i}),
    Slot("introductionPath.both", "introductionPath", "Lead",
         "query($a: ID!, $b: ID!) { introductionPath(fromLeadId: $a, toLeadId: $b) { hops leads { id } } }",
         lambda w, i: {"a": i, "b": w.globex["Lead"][-1] if i != w.globex["Lead"][-1] else w.globex["Lead"][0]}),
    Slot("call.id", "call", "Call", "query($id: ID!) { call(id: $id) { id state lead { id } } }",
         lambda w, i: {"id": i}),
    Slot("job.id", "job", "*", "query($id: ID!) { job(id: $id) { id status } }", lambda w, i: {"id": i}),
    Slot("node.id", "node", "*", "query($id: ID!) { node(id: $id) { __typename id } }", lambda w, i: {"id": i}),
    # mutations: leads
    Slot("createLead.input.ownerId", "createLead", "User",
         m("createLead", "$input: CreateLeadInput!", "input: $input", LEAD_P),
         lambda w, i: {"input": {"firstName": "Tenant", "phone": new_phone(), "ownerId": i}}, True),
    Slot("updateLead.id", "updateLead", "Lead",
         m("updateLead", "$id: ID!", 'id: $id, input: {firstName: "Pwned"}', LEAD_P), lambda w, i: {"id": i}, True),
    Slot("updateLead.input.ownerId", "updateLead", "User",
         m("updateLead", "$lead: ID!, $id: ID!", "id: $lead, input: {ownerId: $id}", LEAD_P),
         lambda w, i: {"lead": w.acme_lead, "id": i}, True),
    Slot("addNote.leadId", "addNote", "Lead", m("addNote", "$id: ID!", 'leadId: $id, body: "pwned"', LEAD_P),
         lambda w, i: {"id": i}, True),
    Slot("setLeadStatus.id", "setLeadStatus", "Lead",
         m("setLeadStatus", "$id: ID!", "id: $id, status: LOST", LEAD_P), lambda w, i: {"id": i}, True),
    Slot("markDoNotCall.id", "markDoNotCall", "Lead", m("markDoNotCall", "$id: ID!", "id: $id", LEAD_P),
         lambda w, i: {"id": i}, True),
    Slot("archiveLead.id", "archiveLead", "Lead", m("archiveLead", "$id: ID!", "id: $id", LEAD_P),
         lambda w, i: {"id": i}, True),
    Slot("linkLeads.fromId", "linkLeads", "Lead", m("linkLeads", "$a: ID!, $b: ID!", "fromId: $a, toId: $b", LINK_P),
         lambda w, i: {"a": i, "b": w.acme_lead2}, True),
    Slot("linkLeads.toId", "linkLeads", "Lead", m("linkLeads", "$a: ID!, $b: ID!", "fromId: $a, toId: $b", LINK_P),
         lambda w, i: {"a": w.acme_lead2, "b": i}, True),
    Slot("unlinkLeads.fromId", "unlinkLeads", "Lead",
         m("unlinkLeads", "$a: ID!, $b: ID!", "fromId: $a, toId: $b", LINK_P),
         lambda w, i: {"a": i, "b": w.acme_lead2}, True),
    Slot("unlinkLeads.toId", "unlinkLeads", "Lead",
         m("unlinkLeads", "$a: ID!, $b: ID!", "fromId: $a, toId: $b", LINK_P),
         lambda w, i: {"a": w.acme_lead2, "b": i}, True),
    # mutations: fleet
    Slot("createRoute.input.driverId", "createRoute", "User",
         m("createRoute", "$input: CreateRouteInput!", "input: $input", ROUTE_P),
         lambda w, i: {"input": {"number": number(), "date": "2026-12-01", "driverId": i}}, True),
    Slot("createRoute.input.vehicleId", "createRoute", "Vehicle",
         m("createRoute", "$input: CreateRouteInput!", "input: $input", ROUTE_P),
         lambda w, i: {"input": {"number": number(), "date": "2026-12-01", "vehicleId": i}}, True),
    Slot("createRoute.input.stops.leadId", "createRoute", "Lead",
         m("createRoute", "$input: CreateRouteInput!", "input: $input", ROUTE_P),
         lambda w, i: {"input": {"number": number(), "date": "2026-12-01", "stops": [{**STOP_IN, "leadId": i}]}},
         True),
    Slot("addStop.routeId", "addStop", "Route", m("addStop", "$id: ID!, $s: StopInput!", "routeId: $id, input: $s",
                                                  ROUTE_P), lambda w, i: {"id": i, "s": STOP_IN}, True),
    Slot("addStop.input.leadId", "addStop", "Lead", m("addStop", "$r: ID!, $s: StopInput!", "routeId: $r, input: $s",
                                                      ROUTE_P),
         lambda w, i: {"r": w.acme_route, "s": {**STOP_IN, "leadId": i}}, True),
    Slot("reorderStops.routeId", "reorderStops", "Route",
         m("reorderStops", "$id: ID!, $s: [ID!]!", "routeId: $id, stopIds: $s", ROUTE_P),
         lambda w, i: {"id": i, "s": list(reversed(w.globex["Stop"]))}, True),
    Slot("reorderStops.stopIds", "reorderStops", "Stop",
         m("reorderStops", "$r: ID!, $s: [ID!]!", "routeId: $r, stopIds: $s", ROUTE_P),
         lambda w, i: {"r": w.acme_route, "s": [i, w.acme_stop]}, True, frozenset({INVALID})),
    Slot("reorderStops.stopIds.only", "reorderStops", "Stop",
         m("reorderStops", "$r: ID!, $s: [ID!]!", "routeId: $r, stopIds: $s", ROUTE_P),
         lambda w, i: {"r": w.acme_route, "s": [i]}, True, frozenset({INVALID})),
    Slot("assignRoute.routeId", "assignRoute", "Route", m("assignRoute", "$id: ID!", "routeId: $id", ROUTE_P),
         lambda w, i: {"id": i}, True),
    Slot("assignRoute.driverId", "assignRoute", "User",
         m("assignRoute", "$r: ID!, $id: ID!", "routeId: $r, driverId: $id", ROUTE_P),
         lambda w, i: {"r": w.acme_route, "id": i}, True),
    Slot("assignRoute.vehicleId", "assignRoute", "Vehicle",
         m("assignRoute", "$r: ID!, $id: ID!", "routeId: $r, vehicleId: $id", ROUTE_P),
         lambda w, i: {"r": w.acme_route, "id": i}, True),
    Slot("updateStopStatus.stopId", "updateStopStatus", "Stop",
         m("updateStopStatus", "$id: ID!", "stopId: $id, status: FAILED", STOP_P), lambda w, i: {"id": i}, True),
    # mutations: the route planner and the live fleet (a job id is no global id: any string finds nothing)
    Slot("optimizeRoutes.input.vehicleIds", "optimizeRoutes", "Vehicle",
         m("optimizeRoutes", "$input: OptimizeRoutesInput!", "input: $input", JOB_P),
         lambda w, i: {"input": {"date": "2026-12-01", "vehicleIds": [i], "unplannedForDate": True,
                                 "timeLimitSeconds": 1}}, True),
    Slot("optimizeRoutes.input.stopIds", "optimizeRoutes", "Stop",
         m("optimizeRoutes", "$input: OptimizeRoutesInput!", "input: $input", JOB_P),
         lambda w, i: {"input": {"date": "2026-12-01", "vehicleIds": [w.acme_vehicle], "stopIds": [i],
                                 "timeLimitSeconds": 1}}, True),
    Slot("applyPlan.jobId", "applyPlan", "*", m("applyPlan", "$id: ID!", "jobId: $id", PLAN_P),
         lambda w, i: {"id": i}, True),
    Slot("startRoute.routeId", "startRoute", "Route", m("startRoute", "$id: ID!", "routeId: $id", ROUTE_P),
         lambda w, i: {"id": i}, True),
    Slot("arriveAtStop.stopId", "arriveAtStop", "Stop", m("arriveAtStop", "$id: ID!", "stopId: $id", STOP_P),
         lambda w, i: {"id": i}, True),
    Slot("completeStop.stopId", "completeStop", "Stop", m("completeStop", "$id: ID!", "stopId: $id", STOP_P),
         lambda w, i: {"id": i}, True),
    Slot("failStop.stopId", "failStop", "Stop", m("failStop", "$id: ID!", 'stopId: $id, reason: "x"', STOP_P),
         lambda w, i: {"id": i}, True),
    Slot("reportPosition.routeId", "reportPosition", "Route",
         m("reportPosition", "$id: ID!", "routeId: $id, lat: 1.0, lon: 2.0", ROUTE_P), lambda w, i: {"id": i}, True),
    # mutations: calls
    Slot("startCall.leadId", "startCall", "Lead", m("startCall", "$id: ID!", "leadId: $id", CALL_P),
         lambda w, i: {"id": i}, True),
    Slot("hangUpCall.callId", "hangUpCall", "Call", m("hangUpCall", "$id: ID!", "callId: $id", CALL_P),
         lambda w, i: {"id": i}, True),
    Slot("transferCall.callId", "transferCall", "Call",
         m("transferCall", "$id: ID!", 'callId: $id, to: "+14155550100"', CALL_P), lambda w, i: {"id": i}, True),
    Slot("speak.callId", "speak", "Call", m("speak", "$id: ID!", 'callId: $id, text: "pwned"', CALL_P),
         lambda w, i: {"id": i}, True),
    # mutations: identity
    Slot("updateUserRole.userId", "updateUserRole", "User",
         m("updateUserRole", "$id: ID!", "userId: $id, role: VIEWER", USER_P), lambda w, i: {"id": i}, True),
    Slot("deactivateUser.userId", "deactivateUser", "User", m("deactivateUser", "$id: ID!", "userId: $id", USER_P),
         lambda w, i: {"id": i}, True),
    Slot("revokeApiKey.id", "revokeApiKey", "ApiKey", m("revokeApiKey", "$id: ID!", "id: $id", KEY_P),
         lambda w, i: {"id": i}, True),
    Slot("setOnDuty.userId", "setOnDuty", "User",
         m("setOnDuty", "$id: ID!", 'userId: $id, onDuty: true, phone: "+14155550177"', USER_P),
         lambda w, i: {"id": i}, True),
]

# id-less fields that list or search: they must not carry a single globex object either
LISTS = {
    "me": "{ me { role user { id email } account { id } } }",
    "account": "{ account { id name } }",
    "leads": "{ leads(first: 100, filter: {includeArchived: true}) { edges { node { id phone owner { id } } } } }",
    "searchLeads": '{ searchLeads(text: "globex-only cryogenic widget negotiations", first: 20) '
                   "{ lead { id phone } } }",
    "routes": "{ routes(first: 100) { edges { node { id driver { id } vehicle { id } stops { id lead { id } } } } } }",
    "vehicles": "{ vehicles(first: 100) { edges { node { id plate } } } }",
    "users": "{ users { id email } }",
    "apiKeys": "{ apiKeys { id } }",
    "activeCalls": "{ activeCalls { id lead { id } } }",
    "callScript": "{ callScript { script updatedBy { id email } } }",
    "searchConversations": '{ searchConversations(text: "globex-only cryogenic widget negotiations", first: 20) '
                           "{ call { id lead { id phone } } } }",
}


# acme's twin of globex leads (same company name, same note): its edges into the graph, Chroma and the call logs
NESTED = {  # label: (root field, document)
    "lead(twin) edges": ("lead", "query($id: ID!) { lead(id: $id) { id colleagues { id phone } similar(first: 20) "
                                 "{ lead { id phone } } referrals(depth: 3) { id } referredBy { id } calls(first: 10) "
                                 "{ edges { node { id } } } liveCall { id } account { id } owner { id } } }"),
    "lead(twin) stops": ("lead", "query($id: ID!) { lead(id: $id) { id stops { id route { id } } } }"),
    "introductionPath(twin)": ("introductionPath", "query($id: ID!, $to: ID!) { introductionPath(fromLeadId: $id, "
                                                   "toLeadId: $to) { hops leads { id phone } } }"),
}


def candidates(world: World, slot: Slot) -> list[tuple[str, str]]:
    """(kind, id): globex's ids of the type, its ids of every other type, its keys forged as the type."""
    samples = [(t, gid) for t in TYPES for gid in world.globex[t]]
    if slot.type == "*":  # node: every id is of a type it takes; forge every key as every other type
        out = [("globex", gid) for _, gid in samples]
        out += [("forged", encode(t, decode(gid)[1])) for s, gid in samples for t in TYPES if t != s]
        out += [("hostile", h) for t in TYPES for h in hostile(world, t)]
    else:
        out = [("globex", gid) for t, gid in samples if t == slot.type]
        out += [("wrong-type", world.globex[t][0]) for t in TYPES if t != slot.type]
        out += [("forged", encode(slot.type, decode(world.globex[t][0])[1])) for t in TYPES if t != slot.type]
        out += [("hostile", h) for h in hostile(world, slot.type)]
    seen, unique = set(), []
    for kind, gid in out:
        if gid in seen:
            continue
        seen.add(gid)
        # a forged id may name an object of acme's own: reading it is fine, changing it would spoil acme's data
        if slot.mutation and kind != "globex" and world.owners.get(gid) == world.acme_id:
            continue
        unique.append((kind, gid))
    return unique


def hostile(world: World, type_name: str) -> list[str]:
    """Keys that try to step outside the caller's account in a store key or a query."""
    key = decode(world.globex[type_name][0])[1]
    if type_name in INT_KEYED:
        arabic = key.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))  # str.isdigit() says yes, int() reads it
        return [encode(type_name, f"0{key}"), encode(type_name, arabic), encode(type_name, str(2**63 + int(key))),
                encode(type_name, "²")]  # isdigit() says yes, int() refuses it
    redis_key = f"sb:acct:{world.globex_id}:call:{key}"
    return [encode(type_name, f"{world.globex_id}:call:{key}"), encode(type_name, f"../{world.globex_id}/{key}"),
            encode(type_name, "*"), encode(type_name, redis_key), encode(type_name, '{"$ne": null}')]


def classify(world: World, attempt: Attempt, slot_mutation: bool, status: int, body: Any, also: frozenset[str],
             allowed_own: bool) -> None:
    attempt.outcome, attempt.detail = _classify(world, attempt.field, slot_mutation, status, body)
    acceptable = REFUSALS | also
    if attempt.kind != "globex":
        acceptable = acceptable | {INVALID} | ({OWN} if allowed_own else set())
    if attempt.outcome not in acceptable and attempt.outcome not in FAILED:
        attempt.detail = f"{attempt.outcome}: {attempt.detail}"
        attempt.outcome = UNEXPECTED


def _classify(world: World, name: str, mutation: bool, status: int, body: Any) -> tuple[str, str]:
    data = (body.get("data") if isinstance(body, dict) else None) or {}
    carried = world.fingerprints.intersection(strings(data))
    if carried:
        return LEAKED, f"data carries globex's {sorted(carried)[:3]}: {str(data)[:300]}"
    if status != 200 or not isinstance(body, dict) or "data" not in body:
        return ERROR, f"HTTP {status}: {str(body)[:300]}"
    errors = body.get("errors") or []
    codes = [(e.get("extensions") or {}).get("code") for e in errors]
    odd = [e for e, c in zip(errors, codes, strict=True) if c not in ("FORBIDDEN", "BAD_USER_INPUT")]
    if odd:
        return ERROR, f"{odd[0].get('message')!r} {odd[0].get('extensions')}"
    value = data.get(name)
    if errors:
        return (FORBIDDEN if "FORBIDDEN" in codes else INVALID), errors[0]["message"][:200]
    if mutation:
        value = value or {}
        kind = value.get("__typename", "")
        if kind == "NotFoundError":
            return NOT_FOUND, f"{value.get('field')}: {value.get('message')}"
        if kind == "PermissionDeniedError":
            return FORBIDDEN, value.get("message", "")
        if kind == "ValidationError":
            return INVALID, f"{value.get('field')}: {value.get('message')}"
        if kind.endswith("Payload"):
            return LEAKED, f"succeeded: {str(value)[:300]}"
        return "answered " + kind, str(value)[:300]
    if empty(value):
        return NOT_FOUND, ""
    return OWN, str(value)[:200]


async def run_attempts(world: World) -> tuple[list[Attempt], set[str]]:
    jobs: list[tuple[Attempt, Slot | None, str, dict[str, Any]]] = []
    for caller in world.callers:
        for slot in SLOTS:
            for kind, gid in candidates(world, slot):
                jobs.append((Attempt(caller, slot.field, slot.name, kind, gid), slot, slot.document,
                             slot.variables(world, gid)))
        for name, document in LISTS.items():
            jobs.append((Attempt(caller, name, name, "list", ""), None, document, {}))
        for name, (root, document) in NESTED.items():
            variables = {"id": world.acme_twin} | ({"to": world.acme_lead} if "$to" in document else {})
            jobs.append((Attempt(caller, root, name, "nested", world.acme_twin), None, document, variables))
    gate = asyncio.Semaphore(12)

    async def one(attempt: Attempt, slot: Slot | None, document: str, variables: dict[str, Any]) -> Attempt:
        async with gate:
            status, body = await world.api.post(world.callers[attempt.caller], document, variables)
        if slot is None:
            classify(world, attempt, False, status, body, frozenset({OWN}), True)
        else:
            classify(world, attempt, slot.mutation, status, body, slot.also, not slot.mutation)
        return attempt

    done = await asyncio.gather(*(one(*job) for job in jobs))
    fields = {a.field for a, slot, _, _ in jobs if slot is not None}
    return list(done), fields


def report(attempts: list[Attempt], label: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, list[Attempt]]:
    bad = [a for a in attempts if a.outcome in FAILED]
    tally = Counter(a.outcome for a in attempts)
    summary = (f"{label}: {len(attempts)} attempts, {tally[LEAKED]} leaked, {tally[ERROR]} server errors, "
               f"{tally[UNEXPECTED]} unexpected answers ({dict(sorted(tally.items()))})")
    with capsys.disabled():
        print(f"\n{summary}")
    for a in bad:
        print("  " + a.line())
    return summary, bad


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    changes = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for k in sorted(set(old) | set(new)):
                if old.get(k) != new.get(k):
                    changes.append(f"{key}: {k!r} changed")
        elif isinstance(old, list) and isinstance(new, list):
            gone = [x for x in old if x not in new][:3]
            came = [x for x in new if x not in old][:3]
            changes.append(f"{key}: {len(old)} -> {len(new)}; gone {gone} came {came}"[:800])
        else:
            changes.append(f"{key}: changed")
    return changes


# -- HTTP ---------------------------------------------------------------------------------------------------------


async def test_tenant_matrix_over_http(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    all_ids = {gid for slot in SLOTS for _, gid in candidates(world, slot)}
    world.owners = await owners_of(world, all_ids)
    # the oracle agrees with what globex showed us: its samples are its own
    assert all(world.owners[gid] == world.globex_id for ids in world.globex.values() for gid in ids
               if gid in world.owners), world.owners

    before = await snapshot(world)
    attempts, fields = await run_attempts(world)
    after = await snapshot(world)

    summary, bad = report(attempts, "tenant matrix", capsys)
    changed = diff(before, after)
    expected = sdl_id_fields("query", "mutation")
    # acme's scratch route holds no globex driver, vehicle or lead however the attempts went
    scratch = await world.api.data(world.callers["owner"], "query($id: ID!) { route(id: $id) { id driver { id } "
                                   "vehicle { id } stops { id lead { id } } } }", id=world.acme_route)
    tangled = world.fingerprints.intersection(strings(scratch))

    assert len(attempts) >= 800, summary
    assert fields == expected, (
        f"attempted {sorted(fields)}; missing {sorted(expected - fields)}; not id-taking {sorted(fields - expected)}"
    )
    assert not bad and not changed and not tangled, "\n".join([
        summary, *(a.line() for a in bad[:40]),
        f"acme's scratch route holds globex's {sorted(tangled)}: {scratch}" if tangled else "",
        "globex's stores changed:" if changed else "globex's stores: unchanged", *changed,
    ])


# -- WebSocket ----------------------------------------------------------------------------------------------------

UPDATES = "subscription($id: ID!, $after: String) { callUpdates(callId: $id, after: $after) { cursor type " \
          "call { id state live lead { id phone } } } }"
LIVE = "subscription($after: String) { liveCalls(after: $after) { cursor type call { id state lead { id phone } } } }"
ROUTE_UPDATES = "subscription($id: ID!, $after: String) { routeUpdates(routeId: $id, after: $after) { cursor type " \
                "stop { id } route { id } } }"
PROGRESS = "subscription($id: ID!) { optimizationProgress(jobId: $id) { cursor type job { id status } } }"
ARGUMENT = {"callUpdates": "callId", "routeUpdates": "routeId", "optimizationProgress": "jobId"}


SUBSCRIPTIONS_PER_SOCKET = 15


@dataclass
class Watch:
    caller: str
    root: str  # the subscription field
    kind: str
    id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)


async def follow(session: Any, document: str, variables: dict[str, Any], watch: Watch) -> None:
    try:
        async for result in session.subscribe(GraphQLRequest(document, variable_values=variables)):
            watch.events.append(next(iter(result.values())))
    except TransportQueryError as exc:
        watch.errors.append(exc.errors or str(exc))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the socket closed or broke: recorded, judged below
        watch.errors.append(f"{type(exc).__name__}: {exc}")


async def test_tenant_matrix_over_websocket(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    if not world.owners:
        world.owners = await owners_of(world, {gid for s in SLOTS for _, gid in candidates(world, s)})
    call_slot = Slot("callUpdates.callId", "callUpdates", "Call", UPDATES, lambda w, i: {"id": i})
    ids = candidates(world, call_slot)
    route_ids = candidates(world, Slot("routeUpdates.routeId", "routeUpdates", "Route", ROUTE_UPDATES,
                                       lambda w, i: {"id": i}))
    # a job id is no global id: globex's ids of any type, and a well-formed job id nobody made
    job_ids = [("globex", world.globex["Route"][0]), ("globex", world.globex["Call"][0]), ("forged", "0" * 32)]
    key = load_private_key((Path(world.env["SWITCHBOARD_DATA_DIR"]) / DEV_KEY_FILE).read_text())
    watches: list[Watch] = []
    control_updates = Watch("globex", "callUpdates", "control", world.globex_call)
    control_live = Watch("globex", "liveCalls", "control", "")
    raw_call = decode(world.globex_call)[1]

    async def socket(token: str, plan: list[tuple[Watch, str, dict[str, Any]]], stop: asyncio.Event) -> None:
        client = ws_client(world.app, token)
        async with client as session:
            tasks = [asyncio.create_task(follow(session, doc, variables, w)) for w, doc, variables in plan]
            await stop.wait()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        # gql stops waiting for its close after close_timeout and finishes it in the background: see it done
        closing = getattr(client.transport, "close_task", None)
        if closing is not None:
            await closing

    stop = asyncio.Event()
    sockets = []
    for caller, token in world.callers.items():
        plan = []
        for kind, gid in ids:
            for after in (None, "0"):
                w = Watch(caller, "callUpdates", kind + (" replay" if after else ""), gid)
                plan.append((w, UPDATES, {"id": gid, "after": after}))
        for after in (None, "0"):
            plan.append((Watch(caller, "liveCalls", "replay" if after else "list", ""), LIVE, {"after": after}))
        for kind, gid in route_ids:
            w = Watch(caller, "routeUpdates", kind + " replay", gid)
            plan.append((w, ROUTE_UPDATES, {"id": gid, "after": "0"}))
        for kind, gid in job_ids:
            plan.append((Watch(caller, "optimizationProgress", kind, gid), PROGRESS, {"id": gid}))
        watches += [w for w, _, _ in plan]
        # the server allows WS_MAX_SUBSCRIPTIONS (20) per connection and WS_MAX_CONNECTIONS (10) per principal
        for n in range(0, len(plan), SUBSCRIPTIONS_PER_SOCKET):
            sockets.append(asyncio.create_task(socket(token, plan[n:n + SUBSCRIPTIONS_PER_SOCKET], stop)))
        assert len(plan) <= 8 * SUBSCRIPTIONS_PER_SOCKET
    sockets.append(asyncio.create_task(socket(world.globex_owner, [
        (control_updates, UPDATES, {"id": world.globex_call, "after": None}),
        (control_live, LIVE, {"after": None}),
    ], stop)))
    try:
        await asyncio.sleep(1.0)  # the server registers the subscriptions
        # a signed carrier event for globex's call, then globex hangs its call up
        body = envelope("call.dtmf.received", {
            "call_control_id": "v3:tenant-matrix", "digit": "7",
            "client_state": encode_client_state(call_id=raw_call, account_id=world.globex_id,
                                                key=app_client_state_key()),
        }, event_id=f"tenant-matrix-{uuid.uuid4().hex}")
        async with httpx.AsyncClient(timeout=30) as http:
            posted = await http.post(f"{world.app.url}/webhooks/telnyx", content=body,
                                     headers=signed_headers(key, body))
        assert posted.status_code == 200 and posted.json()["status"] == "applied", posted.text
        hung = await world.api.data(world.globex_owner, m("hangUpCall", "$id: ID!", "callId: $id", CALL_P),
                                    id=world.globex_call)
        assert hung["hangUpCall"]["__typename"] == "CallPayload", hung
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            e["type"] == "call.hangup" for e in control_updates.events
        ):
            await asyncio.sleep(0.1)
        await asyncio.sleep(2.0)  # acme's subscribers get ~2 s more to (wrongly) hear anything
    finally:
        stop.set()
        await asyncio.gather(*sockets, return_exceptions=True)

    # the controls prove the events were there to be leaked
    control_types = [e["type"] for e in control_updates.events]
    assert "call.dtmf.received" in control_types and "call.hangup" in control_types, control_updates
    assert {e["call"]["id"] for e in control_live.events} >= {world.globex_call}, control_live

    attempts = []
    for w in watches:
        a = Attempt(w.caller, w.root, f"{w.root}.{ARGUMENT[w.root]}" if w.id else w.root, w.kind, w.id)
        leaked = [e for e in w.events if world.fingerprints.intersection(strings(e))]
        odd_errors = [e for e in w.errors if not (
            isinstance(e, list) and all((x.get("extensions") or {}).get("code") in ("FORBIDDEN", "BAD_USER_INPUT")
                                        for x in e)
        )]
        if leaked:
            a.outcome, a.detail = LEAKED, f"{len(leaked)} globex events, first {str(leaked[0])[:300]}"
        elif w.root in ARGUMENT and w.events and (w.root == "callUpdates" or w.kind.startswith("globex")):
            a.outcome, a.detail = UNEXPECTED, f"events on a foreign call id: {str(w.events[0])[:300]}"
        elif odd_errors:
            a.outcome, a.detail = ERROR, str(odd_errors[0])[:300]
        elif w.errors:
            codes = {x.get("extensions", {}).get("code") for e in w.errors for x in e}
            a.outcome = FORBIDDEN if "FORBIDDEN" in codes else INVALID
            if a.outcome == INVALID and w.kind.startswith("globex"):
                a.outcome, a.detail = UNEXPECTED, f"refused as bad input: {w.errors[0]}"
        else:
            a.outcome = NOT_FOUND  # nothing heard
        attempts.append(a)
    summary, bad = report(attempts, "tenant matrix (websocket)", capsys)
    assert {w.root for w in watches if w.id} == sdl_id_fields("subscription")
    assert {w.root for w in watches} == {"callUpdates", "liveCalls", "routeUpdates", "optimizationProgress"}
    assert len(attempts) >= 40, summary
    assert not bad, summary + "\n" + "\n".join(a.line() for a in bad[:40])
