"""The live fleet over real HTTP and WebSocket: the route and stop lifecycle, positions in Redis GEO, ETAs,
routeUpdates replayed from a cursor then live, and drivers held to their own routes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from gql import GraphQLRequest

from tests.client import GraphQL, sign_in
from tests.schema import fleet_world as world
from tests.servers import AppServer

ERR = "... on ConflictError { field message } ... on NotFoundError { field message } " \
      "... on ValidationError { field message } ... on PermissionDeniedError { message }"
START = f"""mutation($r: ID!) {{ startRoute(routeId: $r) {{ __typename
  ... on RoutePayload {{ route {{ status startedAt }} }} {ERR} }} }}"""
ARRIVE = f"""mutation($s: ID!) {{ arriveAtStop(stopId: $s) {{ __typename
  ... on StopPayload {{ stop {{ status arrivedAt }} }} {ERR} }} }}"""
COMPLETE = f"""mutation($s: ID!, $n: String) {{ completeStop(stopId: $s, proofNote: $n) {{ __typename
  ... on StopPayload {{ stop {{ status proofNote completedAt route {{ status }} }} }} {ERR} }} }}"""
FAIL = f"""mutation($s: ID!, $r: String!) {{ failStop(stopId: $s, reason: $r) {{ __typename
  ... on StopPayload {{ stop {{ status failureReason }} }} {ERR} }} }}"""
POSITION = f"""mutation($r: ID!, $lat: Float!, $lon: Float!, $at: DateTime) {{
  reportPosition(routeId: $r, lat: $lat, lon: $lon, at: $at) {{ __typename
  ... on RoutePayload {{ route {{ id stops {{ id eta status }} }} }} {ERR} }} }}"""
NEAR = """query($lat: Float!, $lon: Float!, $km: Float!) { vehiclesNear(lat: $lat, lon: $lon, radiusKm: $km) {
  distanceKm position { latitude longitude at } vehicle { id } route { id } } }"""
UPDATES = """subscription($r: ID!, $after: String) { routeUpdates(routeId: $r, after: $after) { cursor type
  routeStatus position { latitude longitude } etas { stopId eta } stop { id status } } }"""
ME = "{ me { user { id } } }"


def drivers(demo_users: list[dict[str, str]]) -> list[dict[str, str]]:
    return [u for u in demo_users if u["account"] == "acme" and u["role"] == "driver"]


@pytest.fixture(scope="module")
def driver_clients(app_server: AppServer, demo_users: list[dict[str, str]]) -> list[tuple[GraphQL, str]]:
    out = []
    for user in drivers(demo_users)[:2]:
        token = sign_in(app_server.graphql, user["email"], user["password"])["accessToken"]
        out.append((GraphQL(app_server.graphql, token), token))
    return out


async def a_route_of(gql: GraphQL, driver: GraphQL, stops: int = 3) -> tuple[dict[str, Any], str]:
    me = (await driver.query(ME))["me"]["user"]["id"]
    (van,) = await world.vehicles(gql, 1)
    route = await world.route(gql, world.fresh_date(), stops, driver=me, vehicle=van, seed=7)
    return route, van


async def test_the_route_and_stop_lifecycle(gql: GraphQL, driver_clients: list[tuple[GraphQL, str]]) -> None:
    (mine, _), (other, _) = driver_clients
    route, _ = await a_route_of(gql, mine)
    a, b, c = (s["id"] for s in route["stops"])

    early = (await mine.query(ARRIVE, s=a))["arriveAtStop"]
    assert early["__typename"] == "ConflictError" and early["field"] == "stopId" and "startRoute" in early["message"]
    foreign = (await other.query(START, r=route["id"]))["startRoute"]
    assert foreign["__typename"] == "NotFoundError" and foreign["field"] == "routeId"

    started = (await mine.query(START, r=route["id"]))["startRoute"]
    assert started["route"]["status"] == "IN_PROGRESS" and started["route"]["startedAt"]
    twice = (await mine.query(START, r=route["id"]))["startRoute"]
    assert twice["__typename"] == "ConflictError" and "in_progress cannot become in_progress" in twice["message"]

    assert (await other.query(ARRIVE, s=a))["arriveAtStop"]["__typename"] == "NotFoundError"
    skipped = (await mine.query(COMPLETE, s=a, n=None))["completeStop"]
    assert skipped["__typename"] == "ConflictError" and "before arriving" in skipped["message"]
    assert (await mine.query(ARRIVE, s=a))["arriveAtStop"]["stop"]["status"] == "ARRIVED"
    done = (await mine.query(COMPLETE, s=a, n="signed by J. Doe"))["completeStop"]["stop"]
    assert done["status"] == "COMPLETED" and done["proofNote"] == "signed by J. Doe" and done["completedAt"]
    again = (await mine.query(ARRIVE, s=a))["arriveAtStop"]
    assert again["__typename"] == "ConflictError" and "already completed" in again["message"]

    blank = (await mine.query(FAIL, s=b, r="  "))["failStop"]
    assert blank["__typename"] == "ConflictError" and blank["field"] == "reason"
    failed = (await mine.query(FAIL, s=b, r="customer absent"))["failStop"]["stop"]
    assert failed == {"status": "FAILED", "failureReason": "customer absent"}

    await mine.query(ARRIVE, s=c)
    last = (await mine.query(COMPLETE, s=c, n=None))["completeStop"]["stop"]
    assert last["route"]["status"] == "COMPLETED", "the last open stop completes the route"


async def test_positions_etas_and_vehicles_near(gql: GraphQL, driver_clients: list[tuple[GraphQL, str]]) -> None:
    (mine, _), (other, _) = driver_clients
    route, van = await a_route_of(gql, mine)
    refused = (await mine.query(POSITION, r=route["id"], lat=40.72, lon=-74.0, at=None))["reportPosition"]
    assert refused["__typename"] == "ConflictError" and "is assigned" in refused["message"]
    await mine.query(START, r=route["id"])
    bad = (await mine.query(POSITION, r=route["id"], lat=91.0, lon=0.0, at=None))["reportPosition"]
    assert (bad["__typename"], bad["field"]) == ("ValidationError", "lat")
    now = datetime.now(UTC).isoformat()
    moved = (await mine.query(POSITION, r=route["id"], lat=40.7300, lon=-74.0100, at=now))["reportPosition"]
    assert moved["__typename"] == "RoutePayload", moved
    etas = [s["eta"] for s in moved["route"]["stops"]]
    assert all(etas) and etas == sorted(etas)

    near = (await mine.query(NEAR, lat=40.7301, lon=-74.0101, km=1.0))["vehiclesNear"]
    assert [v["vehicle"]["id"] for v in near].count(van) == 1
    assert near[0]["distanceKm"] < 1.0
    assert van not in [v["vehicle"]["id"] for v in (await other.query(NEAR, lat=40.73, lon=-74.01, km=5.0))[
        "vehiclesNear"] if v["vehicle"]], "a driver sees only their own routes' vehicles"
    assert van in [v["vehicle"]["id"] for v in (await gql.query(NEAR, lat=40.73, lon=-74.01, km=5.0))["vehiclesNear"]]
    far = (await gql.query(NEAR, lat=0.0, lon=0.0, km=10.0))["vehiclesNear"]
    assert van not in [v["vehicle"]["id"] for v in far if v["vehicle"]]
    foreign = (await other.query(POSITION, r=route["id"], lat=40.73, lon=-74.01, at=None))["reportPosition"]
    assert foreign["__typename"] == "NotFoundError"


async def test_route_updates_replay_then_live(
    app_server: AppServer, gql: GraphQL, driver_clients: list[tuple[GraphQL, str]], owner_token: str
) -> None:
    (mine, token), (other, other_token) = driver_clients
    route, _ = await a_route_of(gql, mine)
    first = route["stops"][0]["id"]
    await mine.query(START, r=route["id"])
    await mine.query(POSITION, r=route["id"], lat=40.70, lon=-74.02, at=None)

    got: list[dict[str, Any]] = []
    replayed = asyncio.Event()

    async def follow(after: str | None, until: int, sink: list[dict[str, Any]], tok: str) -> None:
        async with world.ws_client(app_server, tok) as session:
            async for result in session.subscribe(GraphQLRequest(UPDATES, variable_values={
                    "r": route["id"], "after": after})):
                sink.append(result["routeUpdates"])
                if len(sink) >= 3:
                    replayed.set()
                if len(sink) >= until:
                    return

    # everything since the beginning: route started, a position, its ETAs; then live: an arrival
    task = asyncio.create_task(follow("0", 4, got, token))
    await asyncio.wait_for(replayed.wait(), 15)
    await mine.query(ARRIVE, s=first)
    await asyncio.wait_for(task, 15)
    assert [e["type"] for e in got] == ["ROUTE", "POSITION", "ETA", "STOP"], got
    assert got[1]["position"] == {"latitude": 40.70, "longitude": -74.02}
    assert len(got[2]["etas"]) == 3
    assert got[3]["stop"] == {"id": first, "status": "ARRIVED"}
    assert len({e["cursor"] for e in got}) == 4

    # resuming from the second cursor misses nothing and repeats nothing
    resumed: list[dict[str, Any]] = []
    await asyncio.wait_for(follow(got[1]["cursor"], 2, resumed, owner_token), 15)
    assert [e["cursor"] for e in resumed] == [e["cursor"] for e in got[2:]]

    # another driver hears nothing of this route: the subscription ends at once, without events
    theirs: list[dict[str, Any]] = []
    await asyncio.wait_for(follow("0", 1, theirs, other_token), 10)
    assert theirs == []
