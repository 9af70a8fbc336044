"""Small fleets made through the API for the planner and live-fleet tests: vehicles, one route of stops."""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from gql import Client
from gql.transport.websockets import WebsocketsTransport

from tests.client import GraphQL
from tests.servers import AppServer

_days = itertools.count(1)
VEHICLE = """mutation($input: CreateVehicleInput!) { createVehicle(input: $input) { __typename
  ... on VehiclePayload { vehicle { id capacity depot { latitude } } } ... on ValidationError { field message } } }"""
ROUTE = """mutation($input: CreateRouteInput!) { createRoute(input: $input) { __typename
  ... on RoutePayload { route { id status stops { id demand serviceMinutes } } }
  ... on ValidationError { field message } } }"""
CENTER = (40.7128, -74.0060)


def fresh_date() -> date:
    """A date no other test plans on (the demo data uses the next few days)."""
    return date(2031, 1, 1) + timedelta(days=next(_days) * 3 + random.randrange(0, 3) + random.randrange(300) * 50)


async def vehicles(gql: GraphQL, count: int, *, capacity: int = 30) -> list[str]:
    made = []
    for _ in range(count):
        plate = f"T{uuid.uuid4().hex[:8].upper()}"
        out = await gql.query(VEHICLE, input={
            "plate": plate, "name": f"Van {plate}", "capacity": capacity, "shiftStart": "07:00:00",
            "shiftEnd": "19:00:00", "depotLatitude": CENTER[0], "depotLongitude": CENTER[1],
        })
        assert out["createVehicle"]["__typename"] == "VehiclePayload", out
        made.append(out["createVehicle"]["vehicle"]["id"])
    return made


def stops(on: date, count: int, *, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(on.year, on.month, on.day, 9)
    return [
        {
            "address": f"{k + 1} Test St", "latitude": round(CENTER[0] + rng.uniform(-0.05, 0.05), 6),
            "longitude": round(CENTER[1] + rng.uniform(-0.05, 0.05), 6), "demand": rng.randint(1, 8),
            "serviceMinutes": 5, "windowStart": (start + timedelta(minutes=30 * (k % 6))).isoformat() + "Z",
            "windowEnd": (start + timedelta(minutes=30 * (k % 6) + 180)).isoformat() + "Z",
        }
        for k in range(count)
    ]


async def route(gql: GraphQL, on: date, count: int, *, driver: str | None = None, vehicle: str | None = None,
                seed: int = 1) -> dict[str, Any]:
    out = await gql.query(ROUTE, input={
        "number": f"T-{uuid.uuid4().hex[:10]}", "date": on.isoformat(), "stops": stops(on, count, seed=seed),
        **({"driverId": driver} if driver else {}), **({"vehicleId": vehicle} if vehicle else {}),
    })
    assert out["createRoute"]["__typename"] == "RoutePayload", out
    return out["createRoute"]["route"]


def ws_client(app: AppServer, token: str) -> Client:
    transport = WebsocketsTransport(url=app.ws, close_timeout=0.5, init_payload={"authorization": f"Bearer {token}"})
    return Client(transport=transport, fetch_schema_from_transport=False)
