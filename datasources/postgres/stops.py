from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from datasources.instrument import round_trip
from datasources.postgres.batch import rows_by_ids
from datasources.postgres.engine import Database
from datasources.postgres.errors import NotFound
from datasources.postgres.models import Stop
from datasources.postgres.records import StopRecord

STOP_STATUSES = ("pending", "en_route", "arrived", "completed", "skipped", "failed")


def stop_record(row: Stop) -> StopRecord:
    return StopRecord(
        row.id, row.account_id, row.route_id, row.sequence, row.kind, row.address, row.latitude, row.longitude,
        row.window_start, row.window_end, row.eta, row.status, row.lead_id, row.arrived_at, row.demand,
        row.service_min, row.completed_at, row.failure_reason, row.proof_note,
    )


async def _grouped[K](db: Database, column: Any, keys: Sequence[K], account_id: int) -> list[list[StopRecord]]:
    """Stops whose `column` is one of `keys`, grouped per key in key order, each group in route order."""
    query = (
        select(Stop).where(Stop.account_id == account_id, column.in_(keys)).order_by(Stop.route_id, Stop.sequence)
    )
    grouped: dict[K, list[StopRecord]] = {k: [] for k in keys}
    async with db.sessions() as session:
        for row in await session.scalars(query):
            grouped[getattr(row, column.key)].append(stop_record(row))
    return [grouped[k] for k in keys]


@round_trip("postgresql")
async def stops_by_ids(db: Database, *, account_id: int, ids: Sequence[int]) -> list[StopRecord | None]:
    return await rows_by_ids(db, Stop, account_id=account_id, ids=ids, record=stop_record)


@round_trip("postgresql")
async def stops_by_routes(db: Database, *, account_id: int, route_ids: Sequence[int]) -> list[list[StopRecord]]:
    return await _grouped(db, Stop.route_id, route_ids, account_id)


@round_trip("postgresql")
async def stops_by_leads(db: Database, *, account_id: int, lead_ids: Sequence[str]) -> list[list[StopRecord]]:
    return await _grouped(db, Stop.lead_id, lead_ids, account_id)


@round_trip("postgresql")
async def update_stop_status(db: Database, *, account_id: int, stop_id: int, status: str) -> StopRecord:
    async with db.sessions.begin() as session:
        row = await session.scalar(
            select(Stop).where(Stop.account_id == account_id, Stop.id == stop_id).with_for_update()
        )
        if row is None:
            raise NotFound("Stop", stop_id)
        row.status = status
        if status == "arrived" and row.arrived_at is None:
            row.arrived_at = datetime.now(UTC)
    return stop_record(row)


@round_trip("postgresql")
async def driver_scope(db: Database, *, account_id: int, driver_id: int) -> tuple[frozenset[int], frozenset[str]]:
    """What a driver may see: the ids of their routes, and the leads those routes' stops visit."""
    from datasources.postgres.models import Route

    async with db.sessions() as session:
        route_ids = frozenset(await session.scalars(
            select(Route.id).where(Route.account_id == account_id, Route.driver_id == driver_id)
        ))
        lead_ids = frozenset(
            lead for lead in await session.scalars(
                select(Stop.lead_id).where(Stop.account_id == account_id, Stop.route_id.in_(route_ids))
            ) if lead
        ) if route_ids else frozenset()
    return route_ids, lead_ids
