"""Compiled fleet queries (COMPILED_QUERIES, ops/compiled.py) answer exactly as the interpreted path does.

A second app over the same stores runs with COMPILED_QUERIES=0; random operations over the compiled subset (and
a little outside it) go to both, as an owner, a dispatcher, a driver (own routes only) and an agent (no
read_fleet), and the bodies (data and errors) and HTTP statuses must be equal. The world holds routes without a
driver, a vehicle or stops, timestamps with and without microseconds, integral and fractional floats, and
globex's routes, which acme's callers must never see.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from bson import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import MongoClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from resolvers.ids import decode, encode
from resolvers.pagination import encode_cursor
from tests.client import sign_in
from tests.servers import AppServer, demo_user, start_app

ROLES = ("owner", "dispatcher", "driver", "agent")
ROUTE_SCALARS = ("id", "number", "name", "status", "date", "distanceKm", "durationMin", "optimized", "createdAt",
                 "startedAt", "completedAt", "__typename")
STOP_SCALARS = ("id", "sequence", "kind", "address", "eta", "status", "arrivedAt", "demand", "serviceMinutes",
                "completedAt", "failureReason", "proofNote", "__typename")
USER_SCALARS = ("id", "email", "fullName", "role", "phone", "active", "createdAt", "onDuty", "__typename")
ACCOUNT_SCALARS = ("id", "name", "slug", "timezone", "createdAt", "__typename")
VEHICLE_SCALARS = ("id", "plate", "name", "kind", "capacityKg", "status", "createdAt", "capacity", "shiftStart",
                   "shiftEnd", "__typename")
LEAD_SCALARS = ("id", "firstName", "lastName", "fullName", "email", "phone", "source", "status", "priority", "score",
                "tags", "doNotCall", "timezone", "nextFollowUpAt", "lastContactedAt", "contactAttempts", "archivedAt",
                "createdAt", "updatedAt", "syncState", "indexedAt", "graphSyncedAt", "__typename",
                "company { name title industry size website __typename }", "consent { call sms email recordedAt }",
                "qualification { budget authority need timeline answers { question answer __typename } score class "
                "via qualifiedAt callId __typename }", "notes { id body createdAt __typename }")
NESTED = ("""query($id: ID!) { route(id: $id) { number name status date } routes(first: 10) { edges { node {
  number name driver { fullName email } vehicle { plate name } stops { sequence address status } } } } }""")
DAY = date(2033, 3, 3)


@dataclass
class World:
    compiled: str
    interpreted: str
    tokens: dict[str, str]
    route_ids: list[str]  # acme's, the driver's first
    globex_route_ids: list[str]
    driver_id: str
    owner_id: str


def post(http: httpx.Client, url: str, token: str, query: str, variables: dict[str, Any] | None = None
         ) -> tuple[int, dict[str, Any]]:
    response = http.post(url, json={"query": query, "variables": variables},
                         headers={"authorization": f"Bearer {token}"})
    return response.status_code, response.json()


def ok(http: httpx.Client, url: str, token: str, query: str, **variables: Any) -> dict[str, Any]:
    status, body = post(http, url, token, query, variables)
    assert status == 200 and not body.get("errors"), body
    return body["data"]  # type: ignore[no-any-return]


VEHICLE = """mutation($input: CreateVehicleInput!) { createVehicle(input: $input) {
  ... on VehiclePayload { vehicle { id } } ... on ValidationError { field message } } }"""
ROUTE = """mutation($input: CreateRouteInput!) { createRoute(input: $input) {
  ... on RoutePayload { route { id } } ... on ValidationError { field message } } }"""


def _stops(count: int, *, micro: bool, lead_ids: list[str]) -> list[dict[str, Any]]:
    fraction = ".1234" if micro else ""
    return [{**({"leadId": lead_ids[k % len(lead_ids)]} if k % 3 != 2 else {}),  # a lead visited twice, or none
             "address": f"{k + 1} Compiled St", "latitude": 40.7 + k / 100, "longitude": -74.0 if k % 2 else -74.05,
             "demand": k, "serviceMinutes": 5 if k % 2 else 2.5,
             "windowStart": f"{DAY.isoformat()}T09:0{k}:00{fraction}Z",
             **({"windowEnd": f"{DAY.isoformat()}T12:00:00Z"} if k % 2 else {})} for k in range(count)]


async def _touch_timestamps(url: str, route_keys: list[int]) -> None:
    """started_at with and without microseconds, stops with an ETA, floats integral and not."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for i, key in enumerate(route_keys):
                started = datetime(2033, 3, 3, 8, 0, 0, 0 if i % 2 else 500, tzinfo=UTC)
                await conn.execute(text("UPDATE routes SET started_at = :s, distance_km = :d, "
                                        "duration_min = :m WHERE id = :k"),
                                   {"s": started, "d": 12.0 if i % 2 else 3.14159, "m": None if i == 0 else 90.0,
                                    "k": key})
                await conn.execute(text("UPDATE stops SET eta = :e, proof_note = 'left at door' "
                                        "WHERE route_id = :k AND sequence = 1"),
                                   {"e": datetime(2033, 3, 3, 9, 30, 0, 500_000, tzinfo=UTC), "k": key})
    finally:
        await engine.dispose()


def _qualify(store_env: dict[str, str], lead_id: str) -> None:
    """What the voice agent writes on a lead (answers, score, class, the call), for Lead.qualification."""
    client: MongoClient[dict[str, Any]] = MongoClient(store_env["MONGODB_URI"], tz_aware=True)
    try:
        client[store_env["MONGODB_DATABASE"]]["leads"].update_one({"_id": ObjectId(lead_id)}, {"$set": {
            "qualification.answers": {"budget": "yes", "timeline": "this quarter"}, "qualification.score": 81,
            "qualification.cls": "hot", "qualification.via": "ai", "qualification.call_id": "call-1",
            "qualification.qualified_at": datetime(2033, 3, 3, 8, 0, 0, 123_000, tzinfo=UTC)}})
    finally:
        client.close()


@pytest.fixture(scope="module")
def world(app_server: AppServer, store_env: dict[str, str], demo_users: list[dict[str, str]],
          data_root: Path) -> Iterator[World]:
    other = start_app({**store_env, "SEED_DEMO": "0", "COMPILED_QUERIES": "0"}, data_root / "app-interpreted.log")
    try:
        tokens = {role: sign_in(app_server.graphql, u["email"], u["password"])["accessToken"]
                  for role in ROLES for u in [demo_user(demo_users, "acme", role)]}
        globex = demo_user(demo_users, "globex", "owner")
        globex_token = sign_in(app_server.graphql, globex["email"], globex["password"])["accessToken"]
        url, owner = app_server.graphql, tokens["owner"]
        with httpx.Client(timeout=60) as http:
            me = "{ me { user { id } } }"
            driver_id = ok(http, url, tokens["driver"], me)["me"]["user"]["id"]
            owner_id = ok(http, url, owner, me)["me"]["user"]["id"]
            made = []
            for depot in (True, False):
                plate = f"C{uuid.uuid4().hex[:8].upper()}"
                out = ok(http, url, owner, VEHICLE, input={
                    "plate": plate, "name": f"Van {plate}", "capacityKg": 750.5 if depot else 1000,
                    **({"depotLatitude": 40.75, "depotLongitude": -73.99} if depot else {})})
                made.append(out["createVehicle"]["vehicle"]["id"])
            specs = [  # (driver, vehicle, stops, microseconds in the windows)
                (driver_id, made[0], 4, True), (None, None, 0, False), (None, made[1], 2, False),
                (driver_id, None, 1, True), (owner_id, made[0], 3, False),
            ]
            leads = ok(http, url, owner, "{ leads(first: 3) { edges { node { id } } } }")["leads"]["edges"]
            lead_ids = [e["node"]["id"] for e in leads]
            _qualify(store_env, decode(lead_ids[0])[1])  # qualified, and with a note whatever ran before
            ok(http, url, owner, 'mutation($id: ID!) { addNote(leadId: $id, body: "compiled") { __typename } }',
               id=lead_ids[0])
            route_ids = []
            for driver, vehicle, count, micro in specs:
                out = ok(http, url, owner, ROUTE, input={
                    "number": f"C-{uuid.uuid4().hex[:10]}", "date": DAY.isoformat(), "name": "Compiled",
                    "stops": _stops(count, micro=micro, lead_ids=lead_ids), **({"driverId": driver} if driver else {}),
                    **({"vehicleId": vehicle} if vehicle else {})})
                route_ids.append(out["createRoute"]["route"]["id"])
            ok(http, url, owner, "mutation($id: ID!) { archiveLead(id: $id) { __typename } }", id=lead_ids[1])
            globex_routes = ok(http, url, globex_token, "{ routes(first: 3) { edges { node { id } } } }")
        asyncio.run(_touch_timestamps(store_env["POSTGRES_URL"], [int(decode(r)[1]) for r in route_ids]))
        yield World(url, other.graphql, tokens, route_ids,
                    [e["node"]["id"] for e in globex_routes["routes"]["edges"]], driver_id, owner_id)
    finally:
        other.stop()


# -- random operations ---------------------------------------------------------------------------------------------


class Doc:
    """A document being drawn: unique aliases, named fragments, variables."""

    def __init__(self) -> None:
        self.aliases = itertools.count()
        self.fragments: list[str] = []
        self.variables: dict[str, tuple[str, Any]] = {}  # name -> (type, value)

    def variable(self, type_name: str, value: Any) -> str:
        name = f"v{len(self.variables)}"
        self.variables[name] = (type_name, value)
        return f"${name}"


@st.composite
def field(draw: st.DrawFn, doc: Doc, name: str, inner: str = "", args: str = "") -> str:
    alias = f"a{next(doc.aliases)}: " if draw(st.integers(0, 3)) == 0 else ""
    directive = draw(st.sampled_from(["", "", "", "@skip(if: true)", "@skip(if: false)", "@include(if: true)",
                                      "@include(if: false)", "flag"]))
    if directive == "flag":
        directive = f"@include(if: {doc.variable('Boolean!', draw(st.booleans()))})"
    return f"{alias}{name}{args} {directive} {inner}".strip()


@st.composite
def selection(draw: st.DrawFn, doc: Doc, type_name: str, depth: int) -> str:
    scalars = {"Route": ROUTE_SCALARS, "Stop": STOP_SCALARS, "User": USER_SCALARS, "Vehicle": VEHICLE_SCALARS,
               "Account": ACCOUNT_SCALARS}
    chosen = draw(st.lists(st.sampled_from(scalars[type_name]), min_size=1, max_size=5))
    parts = [draw(field(doc, name)) for name in chosen]
    nested: list[tuple[str, str, int]] = []  # (field, type, depth)
    if type_name == "Route" and depth > 0:
        nested = [("driver", "User", 0), ("vehicle", "Vehicle", 0), ("stops", "Stop", depth - 1)]
    elif type_name == "Stop":
        nested = [("location", "Location", 0), ("timeWindow", "TimeWindow", 0)]
        if depth > 0:
            nested.append(("route", "Route", depth - 1))
        if draw(st.integers(0, 3)) == 0:
            nested.append(("lead", "Lead", 0))  # MongoDB, after the statement
    elif type_name == "Vehicle":
        nested = [("depot", "Location", 0), ("endLocation", "Location", 0)]
    for name, target, deeper in draw(st.lists(st.sampled_from(nested), max_size=3)) if nested else []:
        if target == "Location":
            inner = draw(st.sampled_from(["latitude", "longitude", "latitude longitude __typename"]))
        elif target == "TimeWindow":
            inner = draw(st.sampled_from(["start", "end", "start end"]))
        elif target == "Lead":
            chosen = draw(st.lists(st.sampled_from(LEAD_SCALARS), min_size=1, max_size=4))
            inner = " ".join([*chosen, *(["owner { id }"] if draw(st.integers(0, 9)) == 0 else [])])  # not compiled
        else:
            inner = draw(selection(doc, target, deeper))
        parts.append(draw(field(doc, name, "{ " + inner + " }")))
    wrap = draw(st.integers(0, 5))
    body = " ".join(parts)
    if wrap == 0:
        return f"... on {type_name} {{ {body} }}"
    if wrap == 1:
        name = f"F{len(doc.fragments)}"
        doc.fragments.append(f"fragment {name} on {type_name} {{ {body} }}")
        return f"...{name} __typename"
    return body


def literal(value: Any) -> str:
    if isinstance(value, str) and value.isupper() and value.replace("_", "").isalpha():
        return value  # an enum value
    return '"' + value + '"' if isinstance(value, str) else str(value)


@st.composite
def argument(draw: st.DrawFn, doc: Doc, name: str, type_name: str, values: list[Any]) -> str | None:
    value = draw(st.sampled_from(values))
    if value is None:
        return None
    if draw(st.booleans()):
        return f"{name}: {doc.variable(type_name, value)}"
    return f"{name}: {literal(value)}"


@st.composite
def operation(draw: st.DrawFn, world: World) -> tuple[str, dict[str, Any]]:
    doc = Doc()
    roots = []
    if draw(st.integers(0, 3)) == 0:
        roots.append(draw(field(doc, "account", "{ " + draw(selection(doc, "Account", 0)) + " }")))
    route_ids = [*world.route_ids * 3, *world.globex_route_ids[:1], "not-an-id", encode("Vehicle", 1),
                 encode("Route", 99_999_999)]
    for _ in range(draw(st.integers(0 if roots else 1, 2))):
        if draw(st.booleans()):
            by_id = draw(argument(doc, "id", "ID!", route_ids))
            inner = "{ " + draw(selection(doc, "Route", 2)) + " }"
            roots.append(draw(field(doc, "route", inner, f"({by_id})")))
            continue
        cursors = [None, None, None, encode_cursor(int(decode(world.route_ids[1])[1])), "garbage", ""]
        page = [draw(argument(doc, "first", "Int", [None, None, 1, 2, 3, 10, 100, *[None, 2, 5] * 3, 0, 101])),
                draw(argument(doc, "after", "String", cursors)),
                draw(argument(doc, "status", "RouteStatus", [None, None, "PLANNED", "ASSIGNED", "IN_PROGRESS"])),
                draw(argument(doc, "date", "Date", [None, None, DAY.isoformat()])),
                draw(argument(doc, "driverId", "ID", [None, None, None, None, world.driver_id, world.owner_id,
                                                      "bad"]))]
        given_args = ", ".join(a for a in page if a)
        edge = draw(st.sampled_from(["cursor", "__typename", ""]))
        node = draw(field(doc, "node", "{ " + draw(selection(doc, "Route", 2)) + " }"))
        edges = draw(field(doc, "edges", f"{{ {edge} {node} }}"))
        info = draw(st.sampled_from(["", "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }",
                                     "pageInfo { endCursor __typename }"]))
        connection = draw(st.sampled_from(["", "__typename"]))
        roots.append(draw(field(doc, "routes", f"{{ {connection} {edges} {info} }}",
                                f"({given_args})" if given_args else "")))
    if draw(st.integers(0, 3)) == 0:
        args = [draw(argument(doc, "first", "Int", [None, 1, 2, 50, 0])),
                draw(argument(doc, "after", "String", [None, None, encode_cursor(1), "garbage"])),
                draw(argument(doc, "status", "String", [None, None, "available", "maintenance"]))]
        given_args = ", ".join(a for a in args if a)
        node = draw(field(doc, "node", "{ " + draw(selection(doc, "Vehicle", 0)) + " }"))
        info = draw(st.sampled_from(["", "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"]))
        roots.append(draw(field(doc, "vehicles", f"{{ edges {{ cursor {node} }} {info} }}",
                                f"({given_args})" if given_args else "")))
    if draw(st.integers(0, 6)) == 0:
        roots.append("__typename")
    declared = ", ".join(f"${n}: {t}" for n, (t, _) in doc.variables.items())
    head = f"query Q({declared})" if declared else "query Q"
    document = f"{head} {{ {' '.join(roots)} }} {' '.join(doc.fragments)}"
    return document, {n: v for n, (_, v) in doc.variables.items()}


def both(world: World, http: httpx.Client, role: str, query: str, variables: dict[str, Any] | None = None
         ) -> tuple[dict[str, Any], dict[str, Any]]:
    token = world.tokens[role]
    status_c, compiled = post(http, world.compiled, token, query, variables)
    status_i, interpreted = post(http, world.interpreted, token, query, variables)
    assert status_c == status_i, (status_c, status_i, compiled, interpreted)
    return compiled, interpreted


def without_extensions(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "extensions"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_answers_as_the_interpreted_path(world: World, data: st.DataObject) -> None:
    query, variables = data.draw(operation(world))
    with httpx.Client(timeout=60) as http:
        for role in ROLES:
            compiled, interpreted = both(world, http, role, query, variables)
            assert without_extensions(compiled) == without_extensions(interpreted), (role, query, variables)
            assert list(compiled) == list(interpreted)
            # compiled: one round trip (and a driver's lead scope, when stops have leads); else the interpreted
            # path's (a failed compiled read would add one)
            trips = [b.get("extensions", {}).get("stores", {}).get("postgresql", {}).get("calls", 0)
                     for b in (compiled, interpreted)]
            compiled_trips = 2 if role == "driver" and "lead" in query else 1
            assert trips[0] <= compiled_trips or trips[0] == trips[1], (role, query, variables, trips)
            shown = orjson.dumps(compiled.get("data")).decode()
            assert not any(globex_id in shown for globex_id in world.globex_route_ids)


def test_the_world_covers_the_edge_cases(world: World) -> None:
    """Nulls, microseconds, integral floats and globex are really there, and equal in both paths."""
    query = """query($ids: ID!, $other: ID!) { mine: routes(first: 100, date: "2033-03-03") { edges { cursor node {
      id startedAt distanceKm durationMin driver { id } vehicle { id depot { latitude } capacityKg }
      stops { eta timeWindow { start end } serviceMinutes location { latitude longitude } } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }
      one: route(id: $ids) { id } theirs: route(id: $other) { id } }"""
    variables = {"ids": world.route_ids[0], "other": world.globex_route_ids[0]}
    with httpx.Client(timeout=60) as http:
        compiled, interpreted = both(world, http, "owner", query, variables)
    assert without_extensions(compiled) == without_extensions(interpreted)
    nodes = [e["node"] for e in compiled["data"]["mine"]["edges"]]
    assert {n["id"] for n in nodes} >= set(world.route_ids)
    started = {n["startedAt"] for n in nodes}
    assert "2033-03-03T08:00:00+00:00" in started and "2033-03-03T08:00:00.000500+00:00" in started
    assert any(n["driver"] is None and n["vehicle"] is None and n["stops"] == [] for n in nodes)
    assert any(n["vehicle"] is not None and n["vehicle"]["depot"] is None for n in nodes)
    assert 12.0 in [n["distanceKm"] for n in nodes]
    windows = [s["timeWindow"] for n in nodes for s in n["stops"]]
    assert {"start": "2033-03-03T09:00:00.123400+00:00", "end": None} in windows
    assert "2033-03-03T09:30:00.500000+00:00" in [s["eta"] for n in nodes for s in n["stops"]]
    assert compiled["data"]["one"] == {"id": world.route_ids[0]} and compiled["data"]["theirs"] is None


def test_a_driver_sees_only_their_routes(world: World) -> None:
    query = "{ routes(first: 100) { edges { node { id driver { id } stops { route { id } } } } } }"
    with httpx.Client(timeout=60) as http:
        compiled, interpreted = both(world, http, "driver", query)
        other = both(world, http, "driver", "query($id: ID!) { route(id: $id) { id } }", {"id": world.route_ids[1]})
    assert without_extensions(compiled) == without_extensions(interpreted)
    nodes = [e["node"] for e in compiled["data"]["routes"]["edges"]]
    assert nodes and all(n["driver"]["id"] == world.driver_id for n in nodes)
    assert world.route_ids[0] in {n["id"] for n in nodes} and world.route_ids[1] not in {n["id"] for n in nodes}
    assert without_extensions(other[0]) == without_extensions(other[1]) == {"data": {"route": None}}


def test_the_compiled_path_is_taken(world: World) -> None:
    """One PostgreSQL round trip for the nested query, where the interpreted path makes one per level."""
    with httpx.Client(timeout=60) as http:
        compiled, interpreted = both(world, http, "owner", NESTED, {"id": world.route_ids[0]})
    assert without_extensions(compiled) == without_extensions(interpreted)
    assert compiled["extensions"]["stores"]["postgresql"]["calls"] == 1
    assert interpreted["extensions"]["stores"]["postgresql"]["calls"] >= 4
    assert compiled["extensions"]["cost"]["actual"] == 1
    assert compiled["extensions"]["cost"]["requested"] == interpreted["extensions"]["cost"]["requested"]
    both_roots = ("{ vehicles(first: 2) { edges { node { id depot { latitude } } } } "
                  "routes(first: 1) { edges { cursor } } }")
    with httpx.Client(timeout=60) as http:
        compiled, interpreted = both(world, http, "dispatcher", both_roots)
    assert without_extensions(compiled) == without_extensions(interpreted)
    assert compiled["extensions"]["stores"]["postgresql"]["calls"] == 1
    assert interpreted["extensions"]["stores"]["postgresql"]["calls"] == 2


@pytest.mark.parametrize(("role", "query", "variables"), [
    ("agent", NESTED, None),  # no read_fleet: FORBIDDEN from the interpreted path
    ("owner", "{ routes(first: 1000) { edges { cursor } } }", None),
    ("owner", '{ routes(after: "nope") { edges { cursor } } }', None),
    ("owner", '{ route(id: "nope") { id } }', None),
    ("owner", "query($id: ID!) { route(id: $id) { id } }", {"id": 5}),
    ("owner", "query($id: ID!) { route(id: $id) { id } }", {}),
    ("owner", "{ routes { edges { node { stops { lead { id } } } } } }", None),
    ("owner", "{ routes { edges { node { ... on Node { id } } } } }", None),
    ("owner", "{ routes(first: 2) { edges { node { id } } } vehiclesNear(lat: 40.7, lon: -74, radiusKm: 5) { "
              "distanceKm } }", None),
])
def test_outside_the_subset_or_refused_falls_back(world: World, role: str, query: str,
                                                  variables: dict[str, Any] | None) -> None:
    with httpx.Client(timeout=60) as http:
        token = world.tokens[role]
        status_c, compiled = post(http, world.compiled, token, query, variables)
        status_i, interpreted = post(http, world.interpreted, token, query, variables)
    assert status_c == status_i
    assert without_extensions(compiled) == without_extensions(interpreted)


@pytest.mark.parametrize("role", ["owner", "driver"])
def test_stop_leads_take_one_round_trip_per_store(world: World, role: str) -> None:
    """Routes, stops and the stops' leads: one PostgreSQL statement and one MongoDB read of the fields selected."""
    query = """{ routes(first: 100, date: "2033-03-03") { edges { node { id stops { sequence lead { id fullName status
      archivedAt syncState company { name } qualification { answers { question answer } class callId qualifiedAt }
      notes { id body createdAt } } } } } } }"""
    with httpx.Client(timeout=60) as http:
        compiled, interpreted = both(world, http, role, query)
    assert without_extensions(compiled) == without_extensions(interpreted)
    leads = [s["lead"] for e in compiled["data"]["routes"]["edges"] for s in e["node"]["stops"]]
    assert any(lead is not None and lead["archivedAt"] for lead in leads) and None in leads
    assert any(lead is not None and lead["qualification"]["answers"] and lead["notes"] for lead in leads)
    stores = compiled["extensions"]["stores"]
    assert stores["postgresql"]["calls"] == (1 if role == "owner" else 2)  # a driver's lead scope is read once
    assert stores["mongodb"]["calls"] == 1
