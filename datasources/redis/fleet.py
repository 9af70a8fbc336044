"""The live fleet in Redis: each route's capped event stream, and the account's last positions (GEO).

A route event is appended and the account's notify channel woken in one MULTI, so the calls' StreamBroker
serves `routeUpdates` from it with the same replay-then-live guarantee as `callUpdates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from datasources.instrument import round_trip
from datasources.redis import keys

ROUTE_STREAM_MAX = 1_000


@dataclass(frozen=True)
class SeenVehicle:
    member: str  # "vehicle:<id>" or "route:<id>" when the route has no vehicle
    route_id: int
    vehicle_id: int | None
    latitude: float
    longitude: float
    at: datetime
    distance_km: float


@round_trip("redis")
async def append_route_event(redis: Redis, *, account_id: int, route_id: int, event: dict[str, Any]) -> str:
    """Appends `event` (JSON-ready) to the route's stream; returns its cursor."""
    entry = {"occurred_at": datetime.now(UTC).isoformat(), "route_id": route_id, **event}
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(keys.route_stream(account_id, route_id), {"event": orjson.dumps(entry)}, maxlen=ROUTE_STREAM_MAX,
                  approximate=True)
        pipe.publish(keys.notify_channel(account_id), f"route:{route_id}")
        result = await pipe.execute()
    return str(result[0])


@round_trip("redis")
async def record_position(
    redis: Redis, *, account_id: int, route_id: int, vehicle_id: int | None, latitude: float, longitude: float,
    at: datetime,
) -> None:
    member = f"vehicle:{vehicle_id}" if vehicle_id is not None else f"route:{route_id}"
    seen = {"route_id": route_id, "vehicle_id": vehicle_id, "latitude": latitude, "longitude": longitude,
            "at": at.isoformat()}
    async with redis.pipeline(transaction=True) as pipe:
        pipe.geoadd(keys.fleet_positions(account_id), (longitude, latitude, member))
        pipe.hset(keys.fleet_seen(account_id), member, orjson.dumps(seen))
        await pipe.execute()


@round_trip("redis")
async def vehicles_near(
    redis: Redis, *, account_id: int, latitude: float, longitude: float, radius_km: float, limit: int
) -> list[SeenVehicle]:
    """The account's vehicles last seen within `radius_km`, nearest first."""
    found: Any = await redis.geosearch(
        keys.fleet_positions(account_id), longitude=longitude, latitude=latitude, radius=radius_km, unit="km",
        sort="ASC", count=limit, withdist=True,
    )
    if not found:
        return []
    members = [m for m, _ in found]
    seen: Any = await redis.hmget(keys.fleet_seen(account_id), members)
    out = []
    for (member, distance), raw in zip(found, seen, strict=True):
        if raw is None:
            continue
        value = orjson.loads(raw)
        out.append(SeenVehicle(member, int(value["route_id"]), value["vehicle_id"], float(value["latitude"]),
                               float(value["longitude"]), datetime.fromisoformat(value["at"]), float(distance)))
    return out
