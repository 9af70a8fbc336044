from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any

from sqlalchemy import Row, Table, select
from sqlalchemy.exc import IntegrityError

from datasources.instrument import round_trip
from datasources.postgres.batch import rows_by_ids
from datasources.postgres.engine import Database
from datasources.postgres.errors import Conflict
from datasources.postgres.models import Vehicle
from datasources.postgres.records import VehicleRecord

VEHICLES: Table = Vehicle.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class VehiclePlanning:
    """What the route planner needs of a vehicle: capacity in demand units, a daily shift (UTC) and its depot."""

    capacity: int = 100
    shift_start: time = time(8)
    shift_end: time = time(18)
    depot_latitude: float | None = None
    depot_longitude: float | None = None
    end_latitude: float | None = None
    end_longitude: float | None = None


def vehicle_record(row: Vehicle | Row[Any]) -> VehicleRecord:
    """From an ORM instance (writes) or a Core row (reads): both name the columns."""
    return VehicleRecord(
        row.id, row.account_id, row.plate, row.name, row.kind, row.capacity_kg, row.status, row.created_at,
        row.capacity, row.shift_start, row.shift_end, row.depot_latitude, row.depot_longitude, row.end_latitude,
        row.end_longitude,
    )


@round_trip("postgresql")
async def vehicles_by_ids(db: Database, *, account_id: int, ids: Sequence[int]) -> list[VehicleRecord | None]:
    return await rows_by_ids(db, Vehicle, account_id=account_id, ids=ids, record=VehicleRecord)


@round_trip("postgresql")
async def list_vehicles(
    db: Database, *, account_id: int, limit: int, after_id: int | None = None, status: str | None = None
) -> list[VehicleRecord]:
    t = VEHICLES
    query = select(t).where(t.c.account_id == account_id).order_by(t.c.id).limit(limit)
    if after_id is not None:
        query = query.where(t.c.id > after_id)
    if status is not None:
        query = query.where(t.c.status == status)
    async with db.read() as conn:
        return [vehicle_record(row) for row in await conn.execute(query)]


@round_trip("postgresql")
async def create_vehicle(
    db: Database,
    *,
    account_id: int,
    plate: str,
    name: str,
    kind: str,
    capacity_kg: float,
    planning: VehiclePlanning | None = None,
) -> VehicleRecord:
    p = planning or VehiclePlanning()
    try:
        async with db.sessions.begin() as session:
            row = Vehicle(
                account_id=account_id, plate=plate, name=name, kind=kind, capacity_kg=capacity_kg, capacity=p.capacity,
                shift_start=p.shift_start, shift_end=p.shift_end, depot_latitude=p.depot_latitude,
                depot_longitude=p.depot_longitude, end_latitude=p.end_latitude, end_longitude=p.end_longitude,
            )
            session.add(row)
            await session.flush()
            await session.refresh(row)
    except IntegrityError as exc:
        raise Conflict("plate", f"a vehicle with plate {plate!r} already exists") from exc
    return vehicle_record(row)
