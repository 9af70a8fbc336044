from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import ARRAY, Row, Table, any_, bindparam, select

from datasources.instrument import round_trip
from datasources.postgres.batch import rows_by_ids
from datasources.postgres.engine import Database, DriverStatement
from datasources.postgres.errors import NotFound
from datasources.postgres.models import Stop
from datasources.postgres.records import StopRecord

STOPS: Table = Stop.__table__  # type: ignore[assignment]
STOP_STATUSES = ("pending", "en_route", "arrived", "completed", "skipped", "failed")


def stop_record(row: Stop | Row[Any]) -> StopRecord:
    """From an ORM instance (writes) or a Core row (reads): both name the columns."""
    return StopRecord(
        row.id, row.account_id, row.route_id, row.sequence, row.kind, row.address, row.latitude, row.longitude,
        row.window_start, row.window_end, row.eta, row.status, row.lead_id, row.arrived_at, row.demand,
        row.service_min, row.completed_at, row.failure_reason, row.proof_note,
    )


@cache
def _grouped_query(column: str) -> DriverStatement:
    """Stops whose `column` is among the `keys` array (one prepared statement whatever the batch size), as
    StopRecord's columns in its order."""
    t = STOPS
    keys = bindparam("keys", type_=ARRAY(t.c[column].type))
    return DriverStatement.of(
        select(*[t.c[f.name] for f in fields(StopRecord)])
        .where(t.c.account_id == bindparam("account_id"), t.c[column] == any_(keys))
        .order_by(t.c.route_id, t.c.sequence)
    )


async def _grouped[K](db: Database, column: str, keys: Sequence[K], account_id: int) -> list[list[StopRecord]]:
    """Stops whose `column` is one of `keys`, grouped per key in key order, each group in route order."""
    grouped: dict[K, list[StopRecord]] = {k: [] for k in keys}
    for row in await db.fetch(_grouped_query(column), account_id=account_id, keys=list(keys)):
        grouped[row[column]].append(StopRecord(*row))
    return [grouped[k] for k in keys]


@round_trip("postgresql")
async def stops_by_ids(db: Database, *, account_id: int, ids: Sequence[int]) -> list[StopRecord | None]:
    return await rows_by_ids(db, Stop, account_id=account_id, ids=ids, record=StopRecord)


@round_trip("postgresql")
async def stops_by_routes(db: Database, *, account_id: int, route_ids: Sequence[int]) -> list[list[StopRecord]]:
    return await _grouped(db, "route_id", route_ids, account_id)


@round_trip("postgresql")
async def stops_by_leads(db: Database, *, account_id: int, lead_ids: Sequence[str]) -> list[list[StopRecord]]:
    return await _grouped(db, "lead_id", lead_ids, account_id)


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

    r, s = Route.__table__.c, STOPS.c
    async with db.read() as conn:
        route_ids = frozenset(await conn.scalars(
            select(r.id).where(r.account_id == account_id, r.driver_id == driver_id)
        ))
        lead_ids = frozenset(
            lead for lead in await conn.scalars(
                select(s.lead_id).where(s.account_id == account_id, s.route_id.in_(route_ids))
            ) if lead
        ) if route_ids else frozenset()
    return route_ids, lead_ids
