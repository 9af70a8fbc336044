from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from datasources.instrument import round_trip
from datasources.postgres.batch import rows_by_ids
from datasources.postgres.engine import Database
from datasources.postgres.errors import Conflict
from datasources.postgres.models import Vehicle
from datasources.postgres.records import VehicleRecord


def vehicle_record(row: Vehicle) -> VehicleRecord:
    return VehicleRecord(
        row.id, row.account_id, row.plate, row.name, row.kind, row.capacity_kg, row.status, row.created_at
    )


@round_trip("postgresql")
async def vehicles_by_ids(db: Database, *, account_id: int, ids: Sequence[int]) -> list[VehicleRecord | None]:
    return await rows_by_ids(db, Vehicle, account_id=account_id, ids=ids, record=vehicle_record)


@round_trip("postgresql")
async def list_vehicles(
    db: Database, *, account_id: int, limit: int, after_id: int | None = None, status: str | None = None
) -> list[VehicleRecord]:
    query = select(Vehicle).where(Vehicle.account_id == account_id).order_by(Vehicle.id).limit(limit)
    if after_id is not None:
        query = query.where(Vehicle.id > after_id)
    if status is not None:
        query = query.where(Vehicle.status == status)
    async with db.sessions() as session:
        return [vehicle_record(row) for row in await session.scalars(query)]


@round_trip("postgresql")
async def create_vehicle(
    db: Database, *, account_id: int, plate: str, name: str, kind: str, capacity_kg: float
) -> VehicleRecord:
    try:
        async with db.sessions.begin() as session:
            row = Vehicle(account_id=account_id, plate=plate, name=name, kind=kind, capacity_kg=capacity_kg)
            session.add(row)
            await session.flush()
            await session.refresh(row)
    except IntegrityError as exc:
        raise Conflict("plate", f"a vehicle with plate {plate!r} already exists") from exc
    return vehicle_record(row)
