from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Row, Table, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from datasources.instrument import round_trip
from datasources.postgres.batch import rows_by_ids
from datasources.postgres.engine import Database
from datasources.postgres.errors import Conflict, NotFound
from datasources.postgres.models import Route, Stop, User, Vehicle
from datasources.postgres.records import RouteRecord

ROUTES: Table = Route.__table__  # type: ignore[assignment]


class Keep(Enum):
    """An assignment left as it is (its GraphQL argument not given), as opposed to None (cleared)."""

    keep = "keep"


KEEP = Keep.keep


@dataclass(frozen=True)
class NewStop:
    address: str
    latitude: float
    longitude: float
    kind: str = "visit"
    lead_id: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    demand: int = 0
    service_min: float = 0.0


def route_record(row: Route | Row[Any]) -> RouteRecord:
    """From an ORM instance (writes) or a Core row (reads): both name the columns."""
    return RouteRecord(
        row.id, row.account_id, row.number, row.name, row.status, row.date, row.driver_id, row.vehicle_id,
        row.distance_km, row.duration_min, row.optimized, row.created_at, row.started_at, row.completed_at,
        row.plan_job,
    )


@round_trip("postgresql")
async def routes_by_ids(db: Database, *, account_id: int, ids: Sequence[int]) -> list[RouteRecord | None]:
    return await rows_by_ids(db, Route, account_id=account_id, ids=ids, record=RouteRecord)


@round_trip("postgresql")
async def list_routes(
    db: Database,
    *,
    account_id: int,
    limit: int,
    after_id: int | None = None,
    status: str | None = None,
    on: date | None = None,
    driver_id: int | None = None,
) -> list[RouteRecord]:
    t = ROUTES
    query = select(t).where(t.c.account_id == account_id).order_by(t.c.id).limit(limit)
    if after_id is not None:
        query = query.where(t.c.id > after_id)
    if status is not None:
        query = query.where(t.c.status == status)
    if on is not None:
        query = query.where(t.c.date == on)
    if driver_id is not None:
        query = query.where(t.c.driver_id == driver_id)
    async with db.read() as conn:
        return [route_record(row) for row in await conn.execute(query)]


async def _check_owned(session: AsyncSession, model: type[User] | type[Vehicle], account_id: int, id: int) -> None:
    found = await session.scalar(select(model.id).where(model.account_id == account_id, model.id == id))
    if found is None:
        raise NotFound(model.__name__, id)


@round_trip("postgresql")
async def create_route(
    db: Database,
    *,
    account_id: int,
    number: str,
    name: str,
    on: date,
    driver_id: int | None = None,
    vehicle_id: int | None = None,
    stops: Sequence[NewStop] = (),
) -> RouteRecord:
    try:
        async with db.sessions.begin() as session:
            if driver_id is not None:
                await _check_owned(session, User, account_id, driver_id)
            if vehicle_id is not None:
                await _check_owned(session, Vehicle, account_id, vehicle_id)
            row = Route(
                account_id=account_id, number=number, name=name, date=on, driver_id=driver_id,
                vehicle_id=vehicle_id, status="planned" if driver_id is None else "assigned",
            )
            session.add(row)
            await session.flush()
            session.add_all(
                Stop(
                    account_id=account_id, route_id=row.id, sequence=i, kind=s.kind, address=s.address,
                    latitude=s.latitude, longitude=s.longitude, lead_id=s.lead_id,
                    window_start=s.window_start, window_end=s.window_end, demand=s.demand,
                    service_min=s.service_min,
                )
                for i, s in enumerate(stops, start=1)
            )
            await session.flush()
            await session.refresh(row)
    except IntegrityError as exc:
        raise Conflict("number", f"route number {number!r} is already used") from exc
    return route_record(row)


@round_trip("postgresql")
async def assign_route(
    db: Database, *, account_id: int, route_id: int, driver_id: int | None | Keep = KEEP,
    vehicle_id: int | None | Keep = KEEP,
) -> RouteRecord:
    """Sets (an id), clears (None) or keeps (KEEP) the route's driver and vehicle. A planned route with a
    driver becomes assigned, an assigned one without a driver planned again."""
    async with db.sessions.begin() as session:
        row = await session.scalar(
            select(Route).where(Route.account_id == account_id, Route.id == route_id).with_for_update()
        )
        if row is None:
            raise NotFound("Route", route_id)
        if not isinstance(driver_id, Keep):
            if driver_id is not None:
                await _check_owned(session, User, account_id, driver_id)
            row.driver_id = driver_id
        if not isinstance(vehicle_id, Keep):
            if vehicle_id is not None:
                await _check_owned(session, Vehicle, account_id, vehicle_id)
            row.vehicle_id = vehicle_id
        if row.status == "planned" and row.driver_id is not None:
            row.status = "assigned"
        elif row.status == "assigned" and row.driver_id is None:
            row.status = "planned"
    return route_record(row)


@round_trip("postgresql")
async def add_stop(db: Database, *, account_id: int, route_id: int, stop: NewStop) -> RouteRecord:
    async with db.sessions.begin() as session:
        row = await session.scalar(
            select(Route).where(Route.account_id == account_id, Route.id == route_id).with_for_update()
        )
        if row is None:
            raise NotFound("Route", route_id)
        last = await session.scalar(select(func.coalesce(func.max(Stop.sequence), 0)).where(Stop.route_id == row.id))
        session.add(
            Stop(
                account_id=account_id, route_id=row.id, sequence=(last or 0) + 1, kind=stop.kind,
                address=stop.address, latitude=stop.latitude, longitude=stop.longitude, lead_id=stop.lead_id,
                window_start=stop.window_start, window_end=stop.window_end, demand=stop.demand,
                service_min=stop.service_min,
            )
        )
        # A new stop invalidates any earlier optimisation.
        row.optimized = False
    return route_record(row)


@round_trip("postgresql")
async def reorder_stops(db: Database, *, account_id: int, route_id: int, stop_ids: Sequence[int]) -> RouteRecord:
    async with db.sessions.begin() as session:
        row = await session.scalar(
            select(Route).where(Route.account_id == account_id, Route.id == route_id).with_for_update()
        )
        if row is None:
            raise NotFound("Route", route_id)
        current = set(await session.scalars(select(Stop.id).where(Stop.route_id == route_id)))
        if len(stop_ids) != len(set(stop_ids)) or set(stop_ids) != current:
            raise Conflict("stopIds", "must list every stop of the route exactly once")
        # The unique (route_id, sequence) constraint is deferred, so the swap is checked at commit.
        for sequence, stop_id in enumerate(stop_ids, start=1):
            await session.execute(update(Stop).where(Stop.id == stop_id).values(sequence=sequence))
        row.optimized = False
    return route_record(row)
