"""Each role times each operation, against a policy table written here (not imported from the code).

One acme demo user per role (the agent is agent0, the driver driver0) runs every operation. An allowed cell must
succeed (the mutation's payload type; a query's data without FORBIDDEN; a subscription's first event); a denied
one must answer FORBIDDEN (queries, subscriptions) or PermissionDeniedError (mutations) and, for a mutation, leave
the stores as they were. Writes target fresh objects made for the purpose, never the shared demo data. The row
scopes come after: an agent sees its own and unassigned leads, a driver its own routes, their stops and leads.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pymongo
import pytest
import redis
from bson import ObjectId
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from resolvers.ids import decode
from tests.client import sign_in
from tests.servers import AppServer, demo_user

ROLES = ("owner", "admin", "manager", "agent", "dispatcher", "driver", "viewer")

# The intended policy (the README carries it). Y: the role may; -: it may not.
POLICY = """
operation                     owner admin manager agent dispatcher driver viewer
read leads                      Y     Y      Y      Y       Y        Y      Y
read lead                       Y     Y      Y      Y       Y        Y      Y
create lead                     Y     Y      Y      Y       -        -      -
update lead                     Y     Y      Y      Y       -        -      -
add note                        Y     Y      Y      Y       -        -      -
link leads                      Y     Y      Y      Y       -        -      -
read call                       Y     Y      Y      Y       -        -      Y
read activeCalls                Y     Y      Y      Y       -        -      Y
start call                      Y     Y      Y      Y       -        -      -
speak                           Y     Y      Y      Y       -        -      -
transfer call                   Y     Y      Y      Y       -        -      -
hang up call                    Y     Y      Y      Y       -        -      -
liveCalls subscription          Y     Y      Y      Y       -        -      Y
callUpdates subscription        Y     Y      Y      Y       -        -      Y
read callScript                 Y     Y      Y      Y       -        -      Y
update callScript               Y     Y      Y      -       -        -      -
set someone on duty             Y     Y      Y      -       -        -      -
set oneself on duty             Y     Y      Y      Y       Y        Y      Y
read routes                     Y     Y      Y      -       Y        Y      Y
read route                      Y     Y      Y      -       Y        Y      Y
read stop                       Y     Y      Y      -       Y        Y      Y
read vehicles                   Y     Y      Y      -       Y        Y      Y
create route                    Y     Y      Y      -       Y        -      -
add stop                        Y     Y      Y      -       Y        -      -
reorder stops                   Y     Y      Y      -       Y        -      -
assign route                    Y     Y      Y      -       Y        -      -
update stop status              Y     Y      Y      -       Y        Y      -
create vehicle                  Y     Y      Y      -       Y        -      -
read users                      Y     Y      Y      Y       Y        Y      Y
invite user                     Y     Y      -      -       -        -      -
update user role                Y     Y      -      -       -        -      -
deactivate user                 Y     Y      -      -       -        -      -
create API key                  Y     Y      -      -       -        -      -
revoke API key                  Y     Y      -      -       -        -      -
list API keys                   Y     Y      -      -       -        -      -
invite an owner                 Y     -      -      -       -        -      -
grant the owner role            Y     -      -      -       -        -      -
change an owner's role          Y     -      -      -       -        -      -
deactivate an owner             Y     -      -      -       -        -      -
create an owner API key         Y     -      -      -       -        -      -
"""


def policy_table(source: str) -> dict[str, dict[str, str]]:
    lines = [line.split() for line in source.strip().splitlines()]
    header, rows = lines[0][1:], lines[1:]
    assert tuple(header) == ROLES
    table = {}
    for row in rows:
        name, marks = " ".join(row[:-7]), row[-7:]
        assert set(marks) <= {"Y", "-"}, row
        table[name] = {role: "allowed" if mark == "Y" else "denied" for role, mark in zip(ROLES, marks, strict=True)}
    return table


EXPECTED = policy_table(POLICY)
_phones = itertools.count(1)
_serial = itertools.count(1)


def phone(last: int = 0) -> str:
    return f"+1415559{next(_phones) % 1000:03d}{last}"


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_serial)}-{uuid.uuid4().hex[:6]}"


def daytime_zone() -> str:
    offset = (13 - datetime.now(UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


# -- talking to the server and the stores ---------------------------------------------------------------------


@dataclass
class Cell:
    outcome: str  # allowed | denied | <what came back>
    wrote: str = ""  # for a denied mutation: what it wrote anyway


class Lab:
    """The callers, an HTTP client, and direct reads of the stores (to prove a denied write wrote nothing)."""

    def __init__(self, app: AppServer, env: dict[str, str], tokens: dict[str, str], http: httpx.AsyncClient,
                 engine: AsyncEngine, account_id: int) -> None:
        self.app, self.env, self.tokens, self.http, self.engine = app, env, tokens, http, engine
        self.account_id = account_id
        self.mongo: pymongo.MongoClient[Any] = pymongo.MongoClient(env["MONGODB_URI"], serverSelectionTimeoutMS=5000)
        self.db = self.mongo[env["MONGODB_DATABASE"]]
        self.redis = redis.Redis.from_url(env["REDIS_URL"], decode_responses=True)

    def close(self) -> None:
        self.mongo.close()
        self.redis.close()

    async def post(self, who: str, document: str, **variables: Any) -> dict[str, Any]:
        token = self.tokens.get(who, who)
        for _ in range(4):
            response = await self.http.post(self.app.graphql, json={"query": document, "variables": variables or None},
                                            headers={"authorization": f"Bearer {token}"})
            if response.status_code != 429:  # the caller's cost budget: wait as told, as any client would
                break
            await asyncio.sleep(min(float(response.headers.get("retry-after", "1")), 5.0))
        assert response.status_code == 200, (who, document, response.status_code, response.text[:500])
        return response.json()  # type: ignore[no-any-return]

    async def data(self, who: str, document: str, **variables: Any) -> dict[str, Any]:
        body = await self.post(who, document, **variables)
        assert not body.get("errors"), (who, document, body)
        return body["data"]  # type: ignore[no-any-return]

    async def sql(self, query: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(query), params)).scalar()

    def lead_doc(self, lead_id: str) -> dict[str, Any]:
        doc = self.db.leads.find_one({"_id": ObjectId(decode(lead_id)[1])})
        assert doc is not None
        return doc

    def lead_count(self) -> int:
        return self.db.leads.count_documents({"account_id": self.account_id})


ERR = "__typename ... on UserError { message }"


async def mutate(lab: Lab, who: str, document: str, success: str, **variables: Any) -> tuple[Cell, Any]:
    """Runs a mutation: (allowed | denied | what came back, the result)."""
    body = await lab.post(who, document, **variables)
    if body.get("errors"):
        return Cell(f"errors {body['errors']}"), None
    result = next(iter(body["data"].values()))
    kind = result["__typename"]
    if kind == success:
        return Cell("allowed"), result
    if kind == "PermissionDeniedError":
        return Cell("denied"), result
    return Cell(f"{kind}: {result.get('message')}"), result


async def read(lab: Lab, who: str, document: str, *, present: Callable[[Any], bool] = lambda d: True,
               **variables: Any) -> Cell:
    """Runs a query: allowed when it answers without FORBIDDEN (and `present` holds), denied on FORBIDDEN."""
    body = await lab.post(who, document, **variables)
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
    if codes == {"FORBIDDEN"}:
        return Cell("denied")
    if codes:
        return Cell(f"errors {body['errors']}")
    if not present(body["data"]):
        return Cell(f"answered without the object: {body['data']}")
    return Cell("allowed")


def unchanged(cell: Cell, before: Any, after: Any, what: str) -> Cell:
    if cell.outcome == "denied" and before != after:
        cell.wrote = f"{what}: {before!r} -> {after!r}"
    return cell


# -- fixtures: callers and the fresh objects each cell works on ----------------------------------------------------

CREATE_LEAD = f"mutation($input: CreateLeadInput!) {{ createLead(input: $input) {{ {ERR} " \
              "... on LeadPayload { lead { id } } } }"
CREATE_ROUTE = f"mutation($input: CreateRouteInput!) {{ createRoute(input: $input) {{ {ERR} " \
               "... on RoutePayload { route { id stops { id } } } } }"
INVITE = f"mutation($email: String!, $role: Role!) {{ inviteUser(email: $email, role: $role) {{ {ERR} " \
         "... on InvitePayload { token invite { id } } } }"
ACCEPT = "mutation($token: String!, $name: String!, $password: String!) { acceptInvite(token: $token, " \
         f"fullName: $name, password: $password) {{ {ERR} ... on SignInPayload {{ accessToken user {{ id }} }} }} }}"
CREATE_KEY = f"mutation($name: String!, $role: Role!) {{ createApiKey(name: $name, role: $role) {{ {ERR} " \
             "... on ApiKeyCreatedPayload { apiKey { id } } } }"
START = f"mutation($id: ID!) {{ startCall(leadId: $id) {{ {ERR} ... on CallPayload {{ call {{ id }} }} }} }}"


async def new_lead(lab: Lab, **fields: Any) -> str:
    made = await lab.data("owner", CREATE_LEAD, input={"firstName": "Role", "lastName": "Matrix", "phone": phone(),
                                                         **fields})
    assert made["createLead"]["__typename"] == "LeadPayload", made
    return made["createLead"]["lead"]["id"]  # type: ignore[no-any-return]


async def new_route(lab: Lab, stops: int = 2, **fields: Any) -> dict[str, Any]:
    stop_list = [{"address": f"{n} Matrix Way", "latitude": 40.7, "longitude": -74.0} for n in range(stops)]
    made = await lab.data("owner", CREATE_ROUTE, input={"number": unique("RM"), "date": date.today().isoformat(),
                                                          "stops": stop_list, **fields})
    assert made["createRoute"]["__typename"] == "RoutePayload", made
    return made["createRoute"]["route"]  # type: ignore[no-any-return]


async def new_user(lab: Lab, role: str) -> str:
    """A fresh user of acme with this role (invited by the owner, invitation accepted)."""
    invited = await lab.data("owner", INVITE, email=f"{unique('rm')}@acme.example", role=role)
    assert invited["inviteUser"]["__typename"] == "InvitePayload", invited
    accepted = await lab.data("owner", ACCEPT, token=invited["inviteUser"]["token"], name="Matrix Target",
                              password="correct horse battery staple")
    assert accepted["acceptInvite"]["__typename"] == "SignInPayload", accepted
    return accepted["acceptInvite"]["user"]["id"]  # type: ignore[no-any-return]


async def new_key(lab: Lab, name: str) -> str:
    made = await lab.data("owner", CREATE_KEY, name=name, role="VIEWER")
    return made["createApiKey"]["apiKey"]["id"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def lab(app_server: AppServer, store_env: dict[str, str], demo_users: list[dict[str, str]]) -> Any:
    tokens = {}
    for role in ROLES:
        user = demo_user(demo_users, "acme", role)  # the first of each role: agent0, driver0
        tokens[role] = sign_in(app_server.graphql, user["email"], user["password"])["accessToken"]
    for name in ("agent1", "driver1"):
        user = next(u for u in demo_users if u["account"] == "acme" and u["email"].startswith(name + "@"))
        tokens[name] = sign_in(app_server.graphql, user["email"], user["password"])["accessToken"]
    engine = create_async_engine(store_env["POSTGRES_URL"])
    async with httpx.AsyncClient(timeout=60) as http:
        lab = Lab(app_server, store_env, tokens, http, engine, 0)
        try:
            lab.account_id = int(decode((await lab.data("owner", "{ account { id } }"))["account"]["id"])[1])
            yield lab
        finally:
            lab.close()
            await engine.dispose()


async def me(lab: Lab, who: str) -> str:
    return (await lab.data(who, "{ me { user { id } } }"))["me"]["user"]["id"]  # type: ignore[no-any-return]


# -- the matrix ---------------------------------------------------------------------------------------------------

LEAD_Q = "query($id: ID!) { lead(id: $id) { id } }"
CALL_Q = "query($id: ID!) { call(id: $id) { id state live speaking } }"


async def lead_cells(lab: Lab, table: dict[str, dict[str, Cell]], visited_lead: str) -> None:
    for role in ROLES:
        table["read leads"][role] = await read(lab, role, "{ leads(first: 5) { edges { node { id } } } }")
        table["read lead"][role] = await read(lab, role, LEAD_Q, id=visited_lead,
                                              present=lambda d: d["lead"] is not None)

        number, before = phone(), lab.lead_count()
        cell, _ = await mutate(lab, role, CREATE_LEAD, "LeadPayload", input={"firstName": "By", "lastName": role,
                                                                              "phone": number})
        table["create lead"][role] = unchanged(cell, (before, 0), (lab.lead_count(),
                                               lab.db.leads.count_documents({"phone": number})), "leads, phone")

        # an unassigned lead: every role that may write leads may write this one (agents: unassigned ones)
        lead, other = await new_lead(lab), await new_lead(lab)
        before_doc = lab.lead_doc(lead)
        cell, _ = await mutate(lab, role, f"mutation($id: ID!) {{ updateLead(id: $id, input: {{lastName: \"U\"}}) "
                                          f"{{ {ERR} }} }}", "LeadPayload", id=lead)
        table["update lead"][role] = unchanged(cell, before_doc["last_name"], lab.lead_doc(lead)["last_name"],
                                               "lastName")
        cell, _ = await mutate(lab, role, f"mutation($id: ID!) {{ addNote(leadId: $id, body: \"by {role}\") "
                                          f"{{ {ERR} }} }}", "LeadPayload", id=lead)
        table["add note"][role] = unchanged(cell, len(before_doc["notes"]), len(lab.lead_doc(lead)["notes"]),
                                            "notes")
        cell, _ = await mutate(lab, role, f"mutation($a: ID!, $b: ID!) {{ linkLeads(fromId: $a, toId: $b) "
                                          f"{{ {ERR} }} }}", "LinkPayload", a=lead, b=other)
        referrer = (await lab.data("owner", "query($id: ID!) { lead(id: $id) { referredBy { id } } }", id=other))
        table["link leads"][role] = unchanged(cell, None, referrer["lead"]["referredBy"], "referredBy")


async def wait_state(lab: Lab, call_id: str, states: set[str], timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while True:
        state = (await lab.data("owner", CALL_Q, id=call_id))["call"]["state"]
        if state in states or time.monotonic() > deadline:
            return state  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)


def stream_length(lab: Lab, call_id: str) -> int:
    return lab.redis.xlen(f"sb:acct:{lab.account_id}:call:{decode(call_id)[1]}:events")  # type: ignore[return-value]


async def settle(lab: Lab, call_id: str, quiet: float = 0.4, timeout: float = 5) -> None:
    """Waits until the call's event stream stops growing (the carrier has answered every command)."""
    deadline, length = time.monotonic() + timeout, stream_length(lab, call_id)
    while time.monotonic() < deadline:
        await asyncio.sleep(quiet)
        now = stream_length(lab, call_id)
        if now == length:
            return
        length = now


def ws_client(app: AppServer, token: str) -> Client:
    transport = WebsocketsTransport(url=app.ws, close_timeout=0.5, init_payload={"authorization": f"Bearer {token}"})
    return Client(transport=transport, fetch_schema_from_transport=False)


async def first_event(lab: Lab, who: str, document: str, variables: dict[str, Any], timeout: float = 6) -> Cell:
    """allowed: the subscription yields an event (a replay); denied: it answers FORBIDDEN."""
    client = ws_client(lab.app, lab.tokens[who])
    try:
        async with client as session:
            stream = session.subscribe(GraphQLRequest(document, variable_values=variables))
            try:
                await asyncio.wait_for(anext(stream), timeout)
                cell = Cell("allowed")
            except TransportQueryError as exc:
                codes = {(e.get("extensions") or {}).get("code") for e in exc.errors or []}
                cell = Cell("denied" if codes == {"FORBIDDEN"} else f"errors {exc.errors}")
            except TimeoutError:
                cell = Cell(f"no event within {timeout} s")
            finally:
                await stream.aclose()
    finally:
        closing = getattr(client.transport, "close_task", None)
        if closing is not None:
            await closing
    return cell


async def call_cells(lab: Lab, table: dict[str, dict[str, Cell]]) -> str:
    """Calls: every role tries to start one; the allowed keep theirs on the line (a number ending in 9)."""
    calls: dict[str, str] = {}
    active_key = f"sb:acct:{lab.account_id}:calls:active"
    for role in ROLES:
        lead = await new_lead(lab, consent={"call": True}, timezone=daytime_zone(), phone=phone(9))
        before = lab.redis.scard(active_key)
        cell, result = await mutate(lab, role, START, "CallPayload", id=lead)
        if cell.outcome == "allowed":
            calls[role] = result["call"]["id"]
        else:
            live = (await lab.data("owner", "query($id: ID!) { lead(id: $id) { liveCall { id } } }", id=lead))
            unchanged(cell, (before, None), (lab.redis.scard(active_key), live["lead"]["liveCall"]),
                      "active calls, the lead's live call")
        table["start call"][role] = cell
    assert {"owner", "agent"} <= set(calls), f"the owner and the agent must be able to call: {table['start call']}"
    for call_id in calls.values():
        await wait_state(lab, call_id, {"ANSWERED"})

    agent_call, victim = calls["agent"], calls["owner"]
    for role in ROLES:
        table["read call"][role] = await read(lab, role, CALL_Q, id=agent_call,
                                              present=lambda d: d["call"] is not None)
        table["read activeCalls"][role] = await read(lab, role, "{ activeCalls { id } }")
    subscriptions = [
        ("liveCalls subscription", "subscription { liveCalls(after: \"0\") { cursor type call { id } } }", {}),
        ("callUpdates subscription", "subscription($id: ID!) { callUpdates(callId: $id, after: \"0\") "
                                     "{ cursor type call { id } } }", {"id": agent_call}),
    ]
    cells = await asyncio.gather(*(first_event(lab, role, doc, variables)
                                   for _, doc, variables in subscriptions for role in ROLES))
    for n, (name, _, _) in enumerate(subscriptions):
        for m, role in enumerate(ROLES):
            table[name][role] = cells[n * len(ROLES) + m]

    commands = [
        ("speak", 'speak(callId: $id, text: "Hello from the role matrix")'),
        ("transfer call", 'transferCall(callId: $id, to: "+14155550100")'),
    ]
    # denied roles (first) aim at the owner's live call: nothing may reach the carrier (no new event on the call)
    denied_first = sorted(ROLES, key=lambda r: r in calls)
    for name, field in commands:
        await settle(lab, victim)
        for role in denied_first:
            before = stream_length(lab, victim)
            cell, _ = await mutate(lab, role, f"mutation($id: ID!) {{ {field} {{ {ERR} }} }}", "CallPayload",
                                   id=calls.get(role, victim))
            if cell.outcome == "denied":
                await asyncio.sleep(0.3)  # a command that went through would be answered by a webhook by now
                unchanged(cell, before, stream_length(lab, victim), "events of the call")
            table[name][role] = cell
    await settle(lab, victim)
    hang_up = f"mutation($id: ID!) {{ hangUpCall(callId: $id) {{ {ERR} }} }}"
    for role in denied_first:  # the denied first, while the victim is live
        cell, _ = await mutate(lab, role, hang_up, "CallPayload", id=calls.get(role, victim))
        if cell.outcome == "denied":
            state = (await lab.data("owner", CALL_Q, id=victim))["call"]
            unchanged(cell, True, state["live"], "the owner's call is live")
        table["hang up call"][role] = cell
    return agent_call


async def agent_cells(lab: Lab, table: dict[str, dict[str, Cell]]) -> None:
    """The voice agent's script and closers: who may read and change the script, and put users on duty."""
    stamp = "SELECT concat(updated_at, '/', updated_by) FROM call_scripts WHERE account_id = :a"
    duty = "SELECT concat(on_duty, '/', phone) FROM users WHERE id = :u"
    update = f"mutation($s: JSON!) {{ updateCallScript(input: {{script: $s}}) {{ {ERR} }} }}"
    on_duty = f"mutation($id: ID!, $on: Boolean!, $phone: String) {{ setOnDuty(userId: $id, onDuty: $on, " \
              f"phone: $phone) {{ {ERR} }} }}"
    target = await new_user(lab, "VIEWER")
    key = int(decode(target)[1])
    closer = await me(lab, "manager")  # the demo account's closer on duty: back on duty afterwards
    closer_phone = await lab.sql("SELECT phone FROM users WHERE id = :u", u=int(decode(closer)[1]))
    for n, role in enumerate(sorted(ROLES, key=lambda r: r in {"owner", "admin", "manager"})):  # denied first
        table["read callScript"][role] = await read(lab, role, "{ callScript { script updatedAt } }",
                                                    present=lambda d: d["callScript"] is not None)
        before = await lab.sql(stamp, a=lab.account_id)
        cell, _ = await mutate(lab, role, update, "CallScriptPayload", s={"voicemail": f"Hi, call us back ({role})."})
        table["update callScript"][role] = unchanged(cell, before, await lab.sql(stamp, a=lab.account_id), "script")
        before = await lab.sql(duty, u=key)
        cell, _ = await mutate(lab, role, on_duty, "UserPayload", id=target, on=False, phone=f"+1415555{n:03d}1")
        table["set someone on duty"][role] = unchanged(cell, before, await lab.sql(duty, u=key), "on duty/phone")
        mine = await me(lab, role)
        cell, _ = await mutate(lab, role, on_duty, "UserPayload", id=mine, on=False)
        table["set oneself on duty"][role] = cell
    await lab.data("owner", on_duty, id=closer, on=True, phone=closer_phone)


async def fleet_cells(lab: Lab, table: dict[str, dict[str, Cell]], driver_route: dict[str, Any]) -> None:
    vehicle_count = "SELECT count(*) FROM vehicles WHERE account_id = :a"
    route_count = "SELECT count(*) FROM routes WHERE account_id = :a"
    a = lab.account_id
    made = await lab.data("owner", "mutation($input: CreateVehicleInput!) { createVehicle(input: $input) { "
                                   "... on VehiclePayload { vehicle { id } } } }",
                          input={"plate": unique("RM")[:15].upper(), "name": "Matrix van"})
    vehicle = made["createVehicle"]["vehicle"]["id"]
    for role in ROLES:
        table["read routes"][role] = await read(lab, role, "{ routes(first: 5) { edges { node { id } } } }")
        table["read route"][role] = await read(lab, role, "query($id: ID!) { route(id: $id) { id stops { id } } }",
                                               id=driver_route["id"], present=lambda d: d["route"] is not None)
        table["read stop"][role] = await read(lab, role, "query($id: ID!) { node(id: $id) { id } }",
                                              id=driver_route["stops"][0]["id"], present=lambda d: d["node"])
        table["read vehicles"][role] = await read(lab, role, "{ vehicles(first: 5) { edges { node { id } } } }")

        number, before = unique("RMC"), await lab.sql(route_count, a=a)
        cell, _ = await mutate(lab, role, f"mutation($input: CreateRouteInput!) {{ createRoute(input: $input) "
                                          f"{{ {ERR} }} }}", "RoutePayload",
                               input={"number": number, "date": date.today().isoformat()})
        table["create route"][role] = unchanged(
            cell, (before, 0), (await lab.sql(route_count, a=a),
                                await lab.sql("SELECT count(*) FROM routes WHERE number = :n", n=number)),
            "routes, the number")

        # a fresh route per role (the driver's cells work on driver0's own route)
        route = driver_route if role == "driver" else await new_route(lab)
        key = int(decode(route["id"])[1])
        stops_of = "SELECT string_agg(id::text, ',' ORDER BY sequence) FROM stops WHERE route_id = :r"
        before = await lab.sql(stops_of, r=key)
        cell, _ = await mutate(lab, role, f"mutation($id: ID!) {{ addStop(routeId: $id, input: {{address: \"x\", "
                                          f"latitude: 1, longitude: 2}}) {{ {ERR} }} }}", "RoutePayload",
                               id=route["id"])
        table["add stop"][role] = unchanged(cell, before, await lab.sql(stops_of, r=key), "stops")

        before = await lab.sql(stops_of, r=key)
        order = [s for s in (await lab.data("owner", "query($id: ID!) { route(id: $id) { stops { id } } }",
                                            id=route["id"]))["route"]["stops"]]
        cell, _ = await mutate(lab, role, f"mutation($id: ID!, $s: [ID!]!) {{ reorderStops(routeId: $id, "
                                          f"stopIds: $s) {{ {ERR} }} }}", "RoutePayload",
                               id=route["id"], s=[s["id"] for s in reversed(order)])
        table["reorder stops"][role] = unchanged(cell, before, await lab.sql(stops_of, r=key), "stop order")

        assignment = "SELECT concat(driver_id, '/', vehicle_id) FROM routes WHERE id = :r"
        before = await lab.sql(assignment, r=key)
        cell, _ = await mutate(lab, role, f"mutation($id: ID!, $d: ID, $v: ID!) {{ assignRoute(routeId: $id, "
                                          f"driverId: $d, vehicleId: $v) {{ {ERR} }} }}", "RoutePayload",
                               id=route["id"], v=vehicle, d=(route.get("driver") or {}).get("id"))
        table["assign route"][role] = unchanged(cell, before, await lab.sql(assignment, r=key), "driver/vehicle")

        stop = route["stops"][-1]["id"]
        status = "SELECT status FROM stops WHERE id = :s"
        before = await lab.sql(status, s=int(decode(stop)[1]))
        cell, _ = await mutate(lab, role, f"mutation($id: ID!) {{ updateStopStatus(stopId: $id, status: ARRIVED) "
                                          f"{{ {ERR} }} }}", "StopPayload", id=stop)
        table["update stop status"][role] = unchanged(cell, before, await lab.sql(status, s=int(decode(stop)[1])),
                                                      "status")

        before = await lab.sql(vehicle_count, a=a)
        cell, _ = await mutate(lab, role, f"mutation($input: CreateVehicleInput!) {{ createVehicle(input: $input) "
                                          f"{{ {ERR} }} }}", "VehiclePayload",
                               input={"plate": unique("RV")[:15].upper(), "name": f"{role} van"})
        table["create vehicle"][role] = unchanged(cell, before, await lab.sql(vehicle_count, a=a), "vehicles")


async def identity_cells(lab: Lab, table: dict[str, dict[str, Cell]]) -> None:
    a = lab.account_id
    invites = "SELECT count(*) FROM invites WHERE account_id = :a"
    keys = "SELECT count(*) FROM api_keys WHERE account_id = :a"
    role_of = "SELECT concat(role, '/', active) FROM users WHERE id = :u"
    allowed_roles = ("owner", "admin")
    # targets: fresh users (each accepted invitation is an anonymous request, which the server limits per address):
    # one per role that may change users, one shared by every role that may not (it must stay as it is)
    shared, shared_owner = await new_user(lab, "VIEWER"), await new_user(lab, "OWNER")
    owners_target = await new_user(lab, "VIEWER")  # the owner: role -> AGENT, then OWNER, then (an owner) VIEWER
    targets = {
        "role": {"owner": owners_target, "admin": await new_user(lab, "VIEWER"), "others": shared},
        "deactivate": {"owner": await new_user(lab, "VIEWER"), "admin": await new_user(lab, "VIEWER"),
                       "others": shared},
        "grant": {"owner": owners_target, "others": shared},
    }
    owners = {"owner": owners_target, "owner2": await new_user(lab, "OWNER"), "others": shared_owner}
    api_keys = {r: await new_key(lab, unique(f"revoke-{r}")) for r in (*allowed_roles, "others")}

    async def user_change(row: str, who: str, document: str, target: str, **variables: Any) -> None:
        key = int(decode(target)[1])
        before = await lab.sql(role_of, u=key)
        cell, _ = await mutate(lab, who, document, "UserPayload", id=target, **variables)
        table[row][who] = unchanged(cell, before, await lab.sql(role_of, u=key), "role/active")

    update_role = f"mutation($id: ID!, $grant: Role!) {{ updateUserRole(userId: $id, role: $grant) {{ {ERR} }} }}"
    deactivate = f"mutation($id: ID!) {{ deactivateUser(userId: $id) {{ {ERR} }} }}"
    order = [r for r in ROLES if r not in allowed_roles] + ["admin", "owner"]  # the denied first: shared targets
    for role in order:
        mine = role if role in allowed_roles else "others"
        table["read users"][role] = await read(lab, role, "{ users { id } }", present=lambda d: len(d["users"]) > 1)
        table["list API keys"][role] = await read(lab, role, "{ apiKeys { id } }")

        for row, grant in (("invite user", "VIEWER"), ("invite an owner", "OWNER")):
            email, before = f"{unique('inv')}@acme.example", await lab.sql(invites, a=a)
            cell, _ = await mutate(lab, role, INVITE, "InvitePayload", email=email, role=grant)
            table[row][role] = unchanged(cell, before, await lab.sql(invites, a=a), "invites")

        await user_change("update user role", role, update_role, targets["role"][mine], grant="AGENT")
        await user_change("deactivate user", role, deactivate, targets["deactivate"][mine])
        await user_change("grant the owner role", role, update_role,
                          targets["grant"][role if role == "owner" else "others"], grant="OWNER")
        await user_change("change an owner's role", role, update_role,
                          owners["owner" if role == "owner" else "others"], grant="VIEWER")
        await user_change("deactivate an owner", role, deactivate, owners["owner2" if role == "owner" else "others"])

        for row, grant in (("create API key", "VIEWER"), ("create an owner API key", "OWNER")):
            before = await lab.sql(keys, a=a)
            cell, _ = await mutate(lab, role, CREATE_KEY, "ApiKeyCreatedPayload", name=unique(role), role=grant)
            table[row][role] = unchanged(cell, before, await lab.sql(keys, a=a), "api keys")
        key = api_keys[mine]
        revoked = "SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = :k"
        before = await lab.sql(revoked, k=int(decode(key)[1]))
        cell, _ = await mutate(lab, role, f"mutation($id: ID!) {{ revokeApiKey(id: $id) {{ {ERR} }} }}",
                               "ApiKeyPayload", id=key)
        table["revoke API key"][role] = unchanged(cell, before, await lab.sql(revoked, k=int(decode(key)[1])),
                                                  "revoked")


def render(table: dict[str, dict[str, Cell]]) -> str:
    width = max(len(name) for name in table) + 2
    lines = ["operation".ljust(width) + "".join(r[:7].ljust(9) for r in ROLES)]
    for name, row in table.items():
        marks = []
        for role in ROLES:
            cell, want = row.get(role), EXPECTED[name][role]
            mark = {"allowed": "Y", "denied": "-"}.get(cell.outcome if cell else "", "?")
            if cell is None or cell.outcome != want or cell.wrote:
                mark += "!"
            marks.append(mark.ljust(9))
        lines.append(name.ljust(width) + "".join(marks))
    return "\n".join(lines)


async def test_role_matrix(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    table: dict[str, dict[str, Cell]] = {name: {} for name in EXPECTED}
    driver0 = await me(lab, "driver")
    visited = await new_lead(lab)  # unassigned, and visited by a stop of driver0's route: every role may read it
    driver_route = (await lab.data("owner", CREATE_ROUTE, input={
        "number": unique("RMD"), "date": date.today().isoformat(), "driverId": driver0,
        "stops": [{"address": "1 Driver St", "latitude": 40.7, "longitude": -74.0, "leadId": visited},
                  {"address": "2 Driver St", "latitude": 40.7, "longitude": -74.0}],
    }))["createRoute"]["route"]
    driver_route["driver"] = {"id": driver0}

    await lead_cells(lab, table, visited)
    await call_cells(lab, table)
    await agent_cells(lab, table)
    await fleet_cells(lab, table, driver_route)
    await identity_cells(lab, table)

    mismatches = []
    for name, row in table.items():
        for role in ROLES:
            cell, want = row.get(role), EXPECTED[name][role]
            if cell is None:
                mismatches.append(f"{name} / {role}: not run")
            elif cell.outcome != want:
                mismatches.append(f"{name} / {role}: expected {want}, got {cell.outcome}")
            elif cell.wrote:
                mismatches.append(f"{name} / {role}: denied, yet wrote {cell.wrote}")
    cells = sum(len(row) for row in table.values())
    shown = render(table)
    with capsys.disabled():
        print(f"\nrole matrix: {len(table)} operations x {len(ROLES)} roles = {cells} cells, "
              f"{len(mismatches)} mismatches\n{shown}")
    assert cells == len(EXPECTED) * len(ROLES)
    assert not mismatches, f"{len(mismatches)} of {cells} cells differ from the policy:\n" + "\n".join(mismatches) \
        + "\n" + shown


# -- row scopes ----------------------------------------------------------------------------------------------------


async def scope_world(lab: Lab) -> dict[str, Any]:
    agent0, agent1 = await me(lab, "agent"), await me(lab, "agent1")
    driver0, driver1 = await me(lab, "driver"), await me(lab, "driver1")
    theirs = await new_lead(lab, ownerId=agent1, consent={"call": True}, timezone=daytime_zone())
    mine = await new_lead(lab, ownerId=agent0)
    loose = await new_lead(lab)
    on_my_route, on_their_route = await new_lead(lab), await new_lead(lab)

    async def route(driver: str, lead: str) -> dict[str, Any]:
        made = await lab.data("owner", CREATE_ROUTE, input={
            "number": unique("RMS"), "date": date.today().isoformat(), "driverId": driver,
            "stops": [{"address": "3 Scope St", "latitude": 40.7, "longitude": -74.0, "leadId": lead}]})
        return made["createRoute"]["route"]  # type: ignore[no-any-return]

    return {"agent0": agent0, "agent1": agent1, "driver0": driver0, "driver1": driver1, "theirs": theirs,
            "mine": mine, "loose": loose, "on_my_route": on_my_route, "on_their_route": on_their_route,
            "my_route": await route(driver0, on_my_route), "their_route": await route(driver1, on_their_route)}


async def test_row_scopes_by_id(lab: Lab) -> None:
    """An agent cannot read or change another agent's lead; a driver cannot read or change another driver's route."""
    w = await scope_world(lab)
    problems = []

    def expect(what: str, ok: bool, got: Any) -> None:
        if not ok:
            problems.append(f"{what}: {got}")

    for lead, visible in ((w["mine"], True), (w["loose"], True), (w["theirs"], False)):
        got = (await lab.data("agent", LEAD_Q, id=lead))["lead"]
        expect(f"agent0 reads lead {lead} (visible={visible})", (got is not None) == visible, got)
    before = lab.lead_doc(w["theirs"])
    for field, document in [
        ("updateLead", 'mutation($id: ID!) { updateLead(id: $id, input: {lastName: "Stolen"}) { __typename } }'),
        ("addNote", 'mutation($id: ID!) { addNote(leadId: $id, body: "mine now") { __typename } }'),
        ("setLeadStatus", "mutation($id: ID!) { setLeadStatus(id: $id, status: LOST) { __typename } }"),
        ("archiveLead", "mutation($id: ID!) { archiveLead(id: $id) { __typename } }"),
        ("markDoNotCall", "mutation($id: ID!) { markDoNotCall(id: $id) { __typename } }"),
        ("startCall", "mutation($id: ID!) { startCall(leadId: $id) { __typename } }"),
        ("linkLeads", "mutation($id: ID!, $b: ID!) { linkLeads(fromId: $id, toId: $b) { __typename } }"),
    ]:
        got = (await lab.data("agent", document, id=w["theirs"], b=w["mine"]))[field]["__typename"]
        expect(f"agent0 {field} on agent1's lead", got == "NotFoundError", got)
    take = 'mutation($id: ID!, $o: ID!) { updateLead(id: $id, input: {ownerId: $o}) { __typename } }'
    got = (await lab.data("agent", take, id=w["theirs"], o=w["agent0"]))["updateLead"]["__typename"]
    expect("agent0 takes agent1's lead", got == "NotFoundError", got)
    got = (await lab.data("agent", take, id=w["loose"], o=w["agent1"]))["updateLead"]["__typename"]
    expect("agent0 hands an unassigned lead to agent1", got == "PermissionDeniedError", got)
    after = lab.lead_doc(w["theirs"])
    expect("agent1's lead is unchanged", before == after, (before, after))
    got = (await lab.data("agent", 'mutation($id: ID!) { updateLead(id: $id, input: {lastName: "Mine"}) '
                                   "{ __typename } }", id=w["mine"]))["updateLead"]["__typename"]
    expect("agent0 updates its own lead", got == "LeadPayload", got)

    route_q = "query($id: ID!) { route(id: $id) { id stops { id lead { id } } } }"
    got = (await lab.data("driver", route_q, id=w["my_route"]["id"]))["route"]
    expect("driver0 reads its own route with its stop and lead",
           got is not None and got["stops"][0]["lead"] == {"id": w["on_my_route"]}, got)
    got = (await lab.data("driver", route_q, id=w["their_route"]["id"]))["route"]
    expect("driver0 reads driver1's route", got is None, got)
    for gid in (w["their_route"]["stops"][0]["id"], w["their_route"]["id"]):
        got = (await lab.data("driver", "query($id: ID!) { node(id: $id) { id } }", id=gid))["node"]
        expect(f"driver0 reads node {decode(gid)}", got is None, got)
    got = (await lab.data("driver", LEAD_Q, id=w["on_their_route"]))["lead"]
    expect("driver0 reads the lead of driver1's stop", got is None, got)
    got = (await lab.data("driver", LEAD_Q, id=w["on_my_route"]))["lead"]
    expect("driver0 reads the lead of its own stop", got is not None, got)
    their_stop = w["their_route"]["stops"][0]["id"]
    status = "SELECT status FROM stops WHERE id = :s"
    before = await lab.sql(status, s=int(decode(their_stop)[1]))
    got = (await lab.data("driver", "mutation($id: ID!) { updateStopStatus(stopId: $id, status: FAILED) "
                                    "{ __typename } }", id=their_stop))["updateStopStatus"]["__typename"]
    expect("driver0 updates the stop of driver1's route", got == "NotFoundError", got)
    after = await lab.sql(status, s=int(decode(their_stop)[1]))
    expect("driver1's stop is unchanged", before == after, (before, after))
    got = (await lab.data("driver", "mutation($id: ID!) { updateStopStatus(stopId: $id, status: EN_ROUTE) "
                                    "{ __typename } }", id=w["my_route"]["stops"][0]["id"]))
    expect("driver0 updates the stop of its own route", got["updateStopStatus"]["__typename"] == "StopPayload", got)

    assert not problems, "row scopes by id:\n" + "\n".join(problems)


async def test_row_scopes_of_lists(lab: Lab) -> None:
    """Lists apply the same scopes: an agent's leads are its own and unassigned ones; a driver's routes are its own
    and its leads are the ones its stops visit."""
    w = await scope_world(lab)
    problems = []
    owners = {None, w["agent0"]}
    seen = await lab.data("agent", "{ leads(first: 100, filter: {includeArchived: true}) "
                                   "{ edges { node { id owner { id } } } } }")
    foreign = [e["node"] for e in seen["leads"]["edges"] if (e["node"]["owner"] or {}).get("id") not in owners]
    if foreign:
        problems.append(f"agent0's `leads` lists {len(foreign)} leads of other owners, e.g. {foreign[:2]}")
    hits = await lab.data("agent", '{ searchLeads(text: "Role Matrix", first: 20) { lead { id owner { id } } } }')
    foreign = [h["lead"] for h in hits["searchLeads"] if (h["lead"]["owner"] or {}).get("id") not in owners]
    if foreign:
        problems.append(f"agent0's `searchLeads` finds leads of other owners: {foreign[:2]}")

    routes = await lab.data("driver", "{ routes(first: 100) { edges { node { id driver { id } } } } }")
    foreign = [e["node"] for e in routes["routes"]["edges"] if (e["node"]["driver"] or {}).get("id") != w["driver0"]]
    if foreign:
        problems.append(f"driver0's `routes` lists {len(foreign)} routes of other drivers or none, e.g. {foreign[:2]}")
    filtered = await lab.data("driver", "query($d: ID!) { routes(first: 100, driverId: $d) { edges { node { id } } } }",
                              d=w["driver1"])
    if filtered["routes"]["edges"]:
        problems.append(f"driver0's `routes(driverId: driver1)` lists {len(filtered['routes']['edges'])} routes")
    visible = {w["on_my_route"]}
    leads = await lab.data("driver", "{ leads(first: 100, filter: {includeArchived: true}) { edges { node { id } } } }")
    listed = {e["node"]["id"] for e in leads["leads"]["edges"]}
    if w["on_their_route"] in listed or w["theirs"] in listed:
        problems.append(f"driver0's `leads` lists {len(listed)} leads, including ones no stop of its routes visits")
    if not visible <= listed and len(listed) < 100:
        problems.append("driver0's `leads` misses the lead of its own stop")

    assert not problems, "row scopes of lists:\n" + "\n".join(problems)


def test_policy_table_is_complete() -> None:
    """The brief's operations are all in the table (the table is the test's, the code's MATRIX is not read)."""
    needed = {"read leads", "create lead", "update lead", "add note", "link leads", "start call", "hang up call",
              "read routes", "create route", "add stop", "reorder stops", "assign route", "update stop status",
              "create vehicle", "read vehicles", "read users", "invite user", "update user role", "deactivate user",
              "create API key", "revoke API key", "read call", "read activeCalls", "liveCalls subscription"}
    assert needed <= set(EXPECTED)
    assert all(set(row) == set(ROLES) for row in EXPECTED.values())
