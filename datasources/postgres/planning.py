"""What the route planner reads and writes in PostgreSQL: the snapshot a job is computed on (with a fingerprint
of every planning fact), and applying a plan in one transaction, refused when the facts changed since."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from datasources.instrument import round_trip
from datasources.postgres.engine import Database
from datasources.postgres.errors import Conflict, NotFound
from datasources.postgres.models import Route, Stop, Vehicle
from datasources.postgres.records import RouteRecord, StopRecord, VehicleRecord
from datasources.postgres.routes import route_record
from datasources.postgres.stops import stop_record
from datasources.postgres.vehicles import vehicle_record

PLANNABLE_ROUTES = ("planned", "assigned")  # a route being driven keeps its stops


@dataclass(frozen=True)
class Snapshot:
    stops: list[StopRecord]
    vehicles: list[VehicleRecord]
    fingerprint: dict[str, str]  # "stop:12" / "vehicle:3" -> digest of what the plan depends on


@dataclass(frozen=True)
class PlannedRoute:
    vehicle_id: int
    stop_ids: Sequence[int]
    etas: Sequence[datetime]
    distance_km: float
    duration_min: float


def _digest(*values: object) -> str:
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def fingerprint(stops: Sequence[tuple[StopRecord, str]], vehicles: Sequence[VehicleRecord]) -> dict[str, str]:
    """Digests of each stop (with its route's status) and vehicle over the fields a plan depends on."""
    found = {
        f"stop:{s.id}": _digest(s.latitude, s.longitude, s.demand, s.service_min, s.window_start, s.window_end,
                                s.status, route_status)
        for s, route_status in stops
    }
    found.update(
        (f"vehicle:{v.id}", _digest(v.capacity, v.shift_start, v.shift_end, v.depot_latitude, v.depot_longitude,
                                    v.end_latitude, v.end_longitude, v.status))
        for v in vehicles
    )
    return found


async def _stops(session: AsyncSession, account_id: int, ids: Sequence[int], *, lock: bool = False
                 ) -> list[tuple[StopRecord, str]]:
    query = (select(Stop, Route.status).join(Route, Route.id == Stop.route_id)
             .where(Stop.account_id == account_id, Stop.id.in_(ids)).order_by(Stop.id))
    if lock:
        query = query.with_for_update(of=Stop)
    return [(stop_record(row), status) for row, status in (await session.execute(query)).all()]


async def _vehicles(session: AsyncSession, account_id: int, ids: Sequence[int], *, lock: bool = False
                    ) -> list[VehicleRecord]:
    query = select(Vehicle).where(Vehicle.account_id == account_id, Vehicle.id.in_(ids)).order_by(Vehicle.id)
    if lock:
        query = query.with_for_update()
    return [vehicle_record(row) for row in await session.scalars(query)]


@round_trip("postgresql")
async def snapshot(
    db: Database, *, account_id: int, on: date, vehicle_ids: Sequence[int], stop_ids: Sequence[int] | None
) -> Snapshot:
    """The vehicles, and the stops named (or every pending stop of the date's routes not yet started).

    NotFound names the first id missing from the account; Conflict a stop that cannot be planned any more.
    """
    async with db.sessions() as session:
        vehicles = await _vehicles(session, account_id, vehicle_ids)
        missing = set(vehicle_ids) - {v.id for v in vehicles}
        if missing:
            raise NotFound("Vehicle", min(missing))
        if stop_ids is None:
            ids = list(await session.scalars(
                select(Stop.id).join(Route, Route.id == Stop.route_id).where(
                    Stop.account_id == account_id, Route.date == on, Route.status.in_(PLANNABLE_ROUTES),
                    Stop.status == "pending",
                )
            ))
        else:
            ids = list(stop_ids)
        stops = await _stops(session, account_id, ids)
    missing = set(ids) - {s.id for s, _ in stops}
    if missing:
        raise NotFound("Stop", min(missing))
    for s, route_status in stops:
        if s.status != "pending":
            raise Conflict("stopIds", f"stop {s.id} is {s.status}; only pending stops are planned")
        if route_status not in PLANNABLE_ROUTES:
            raise Conflict("stopIds", f"stop {s.id} is on a route {route_status}; it keeps its stops")
    return Snapshot([s for s, _ in stops], vehicles, fingerprint(stops, vehicles))


def _drift(expected: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    gone = [key for key in expected if key not in now]
    changed = [key for key in expected if key in now and now[key] != expected[key]]
    return [f"{key.replace(':', ' ')} changed" for key in changed] + [f"{key.replace(':', ' ')} is gone"
                                                                        for key in gone]


@round_trip("postgresql")
async def apply_plan(
    db: Database,
    *,
    account_id: int,
    on: date,
    job_id: str,
    routes: Sequence[PlannedRoute],
    expected: Mapping[str, str],
) -> list[RouteRecord]:
    """Writes the plan's routes in one transaction: each vehicle's route of the date (made when it has none)
    gets its stops in plan order with ETAs, distance, duration and `optimized`; routes left empty are canceled.

    Conflict("jobId") when any stop or vehicle the plan was computed on changed since (`expected`).
    """
    stop_ids = [int(k.split(":")[1]) for k in expected if k.startswith("stop:")]
    vehicle_ids = [int(k.split(":")[1]) for k in expected if k.startswith("vehicle:")]
    async with db.sessions.begin() as session:
        stops = await _stops(session, account_id, stop_ids, lock=True)
        vehicles = await _vehicles(session, account_id, vehicle_ids, lock=True)
        drift = _drift(expected, fingerprint(stops, vehicles))
        if drift:
            shown = ", ".join(drift[:5]) + (f" and {len(drift) - 5} more" if len(drift) > 5 else "")
            raise Conflict("jobId", f"the plan was computed on data that changed since ({shown}); optimise again")
        sources = {s.route_id for s, _ in stops}
        candidates = list(await session.scalars(
            select(Route).where(Route.account_id == account_id, Route.date == on,
                                Route.status.in_(PLANNABLE_ROUTES), Route.vehicle_id.in_(vehicle_ids))
            .order_by(Route.id).with_for_update()
        ))
        plates = {v.id: v.plate for v in vehicles}
        written: list[Route] = []
        for planned in routes:
            row = next((r for r in candidates if r.vehicle_id == planned.vehicle_id and r not in written), None)
            if row is None:
                plate = plates.get(planned.vehicle_id, str(planned.vehicle_id))
                row = Route(account_id=account_id, number=f"P{on:%y%m%d}-{plate}-{job_id[:6]}",
                            name=f"{plate} {on.isoformat()} (optimised)", date=on, vehicle_id=planned.vehicle_id,
                            status="planned")
                session.add(row)
                await session.flush()
            placed = set(planned.stop_ids)
            for sequence, (stop_id, eta) in enumerate(zip(planned.stop_ids, planned.etas, strict=True), start=1):
                stop = await session.get_one(Stop, stop_id)
                stop.route_id, stop.sequence, stop.eta = row.id, sequence, eta
            # the route's other stops (not in this plan) follow the planned ones; the constraint is deferred
            others = await session.scalars(
                select(Stop).where(Stop.route_id == row.id, Stop.id.not_in(placed)).order_by(Stop.sequence)
            )
            for sequence, stop in enumerate(others, start=len(placed) + 1):
                stop.sequence = sequence
            row.optimized, row.distance_km, row.duration_min = True, planned.distance_km, planned.duration_min
            row.plan_job = job_id
            written.append(row)
        await session.flush()
        emptied = sources - {r.id for r in written}
        if emptied:
            left = dict((await session.execute(
                select(Stop.route_id, func.count()).where(Stop.route_id.in_(emptied)).group_by(Stop.route_id)
            )).tuples().all())
            for route in await session.scalars(select(Route).where(Route.id.in_(emptied))):
                if not left.get(route.id) and route.status in PLANNABLE_ROUTES:
                    route.status = "canceled"
        await session.flush()
        for row in written:
            await session.refresh(row)
        return [route_record(row) for row in written]


__all__ = ["PlannedRoute", "Snapshot", "apply_plan", "fingerprint", "snapshot"]
