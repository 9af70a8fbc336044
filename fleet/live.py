"""The live fleet: route and stop moves checked by the pure lifecycle, positions to Redis, ETAs recomputed,
and every change appended to the route's stream (what `routeUpdates` replays and follows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from datasources.postgres import live, routes, stops
from datasources.postgres.errors import Conflict, NotFound
from datasources.postgres.records import RouteRecord, StopRecord
from datasources.redis import fleet as positions
from datasources.stores import Stores
from fleet import lifecycle
from fleet.eta import Remaining, changed, etas

OPEN_FOR_ETA = ("pending", "en_route")


def _refused(refusal: lifecycle.Refusal | None) -> Conflict | None:
    return None if refusal is None else Conflict(refusal.field, refusal.reason)


def _stop_event(stop: StopRecord, route: RouteRecord) -> dict[str, Any]:
    return {"type": "stop", "route_status": route.status,
            "stop": {"id": stop.id, "status": stop.status, "failure_reason": stop.failure_reason}}


class FleetLive:
    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    async def _emit(self, account_id: int, route_id: int, event: dict[str, Any]) -> str:
        return await positions.append_route_event(self.stores.redis, account_id=account_id, route_id=route_id,
                                                  event=event)

    async def start_route(self, *, account_id: int, route_id: int) -> RouteRecord:
        def check(route: RouteRecord) -> Conflict | None:
            return _refused(lifecycle.route_move(route.status, "in_progress", has_driver=route.driver_id is not None,
                                                 has_vehicle=route.vehicle_id is not None))

        route = await live.change_route(self.stores.db, account_id=account_id, route_id=route_id,
                                        status="in_progress", check=check)
        await self._emit(account_id, route_id, {"type": "route", "route_status": route.status})
        return route

    async def move_stop(
        self, *, account_id: int, stop_id: int, status: str, reason: str | None = None, proof_note: str | None = None
    ) -> tuple[StopRecord, RouteRecord]:
        def check(stop: StopRecord, route_status: str) -> Conflict | None:
            return _refused(lifecycle.stop_move(stop.status, status, route_status=route_status, reason=reason))

        stop, route = await live.change_stop(
            self.stores.db, account_id=account_id, stop_id=stop_id, status=status, check=check,
            route_done=lifecycle.route_done, reason=reason.strip() if reason else None, proof_note=proof_note,
        )
        await self._emit(account_id, route.id, _stop_event(stop, route))
        return stop, route

    async def report_position(
        self, *, account_id: int, route_id: int, latitude: float, longitude: float, at: datetime
    ) -> tuple[RouteRecord, list[tuple[int, datetime]]]:
        """Records the position and returns the route with the ETAs that moved."""
        route = (await routes.routes_by_ids(self.stores.db, account_id=account_id, ids=[route_id]))[0]
        if route is None:
            raise NotFound("Route", route_id)
        if route.status != "in_progress":
            raise Conflict("routeId", f"the route is {route.status}; positions are taken while it is driven")
        await positions.record_position(self.stores.redis, account_id=account_id, route_id=route_id,
                                        vehicle_id=route.vehicle_id, latitude=latitude, longitude=longitude, at=at)
        await self._emit(account_id, route_id, {
            "type": "position", "route_status": route.status,
            "position": {"latitude": latitude, "longitude": longitude, "at": at.isoformat()},
        })
        (planned,) = await stops.stops_by_routes(self.stores.db, account_id=account_id, route_ids=[route_id])
        remaining = [s for s in planned if s.status in OPEN_FOR_ETA]
        fresh = etas((latitude, longitude), at, [
            Remaining(s.id, s.latitude, s.longitude, s.window_start, s.service_min) for s in remaining
        ])
        moved = changed({s.id: s.eta for s in remaining}, fresh)
        if moved:
            await live.set_etas(self.stores.db, account_id=account_id, etas=moved)
            await self._emit(account_id, route_id, {
                "type": "eta", "route_status": route.status,
                "etas": [{"stop_id": i, "eta": t.isoformat()} for i, t in moved],
            })
        return route, moved

    async def vehicles_near(
        self, *, account_id: int, latitude: float, longitude: float, radius_km: float, limit: int
    ) -> list[positions.SeenVehicle]:
        return await positions.vehicles_near(self.stores.redis, account_id=account_id, latitude=latitude,
                                             longitude=longitude, radius_km=radius_km, limit=limit)
