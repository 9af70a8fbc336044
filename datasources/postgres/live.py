"""Status changes of routes and stops under the row's lock: the caller's pure `check` decides, this writes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from datasources.instrument import round_trip
from datasources.postgres.engine import Database
from datasources.postgres.errors import Conflict, NotFound
from datasources.postgres.models import Route, Stop
from datasources.postgres.records import RouteRecord, StopRecord
from datasources.postgres.routes import route_record
from datasources.postgres.stops import stop_record

type RouteCheck = Callable[[RouteRecord], Conflict | None]
type StopCheck = Callable[[StopRecord, str], Conflict | None]


@round_trip("postgresql")
async def change_route(db: Database, *, account_id: int, route_id: int, status: str, check: RouteCheck
                       ) -> RouteRecord:
    async with db.sessions.begin() as session:
        row = await session.scalar(
            select(Route).where(Route.account_id == account_id, Route.id == route_id).with_for_update()
        )
        if row is None:
            raise NotFound("Route", route_id)
        refused = check(route_record(row))
        if refused is not None:
            raise refused
        row.status = status
        now = datetime.now(UTC)
        if status == "in_progress":
            row.started_at = now
        elif status in ("completed", "canceled"):
            row.completed_at = now
    return route_record(row)


@round_trip("postgresql")
async def change_stop(
    db: Database,
    *,
    account_id: int,
    stop_id: int,
    status: str,
    check: StopCheck,
    route_done: Callable[[list[str]], bool],
    reason: str | None = None,
    proof_note: str | None = None,
) -> tuple[StopRecord, RouteRecord]:
    """The stop moved to `status`; its route is completed when `route_done` says no stop is left open."""
    async with db.sessions.begin() as session:
        found = (await session.execute(
            select(Stop, Route).join(Route, Route.id == Stop.route_id)
            .where(Stop.account_id == account_id, Stop.id == stop_id).with_for_update()
        )).first()
        if found is None:
            raise NotFound("Stop", stop_id)
        row, route = found
        refused = check(stop_record(row), route.status)
        if refused is not None:
            raise refused
        now = datetime.now(UTC)
        row.status = status
        if status == "arrived":
            row.arrived_at = row.arrived_at or now
        elif status == "completed":
            row.completed_at, row.proof_note = now, proof_note
        elif status == "failed":
            row.completed_at, row.failure_reason = now, reason
        await session.flush()
        statuses = list(await session.scalars(select(Stop.status).where(Stop.route_id == route.id)))
        if route.status == "in_progress" and route_done(statuses):
            route.status, route.completed_at = "completed", now
    return stop_record(row), route_record(route)


@round_trip("postgresql")
async def set_etas(db: Database, *, account_id: int, etas: Sequence[tuple[int, datetime]]) -> None:
    if not etas:
        return
    async with db.sessions.begin() as session:
        rows = {r.id: r for r in await session.scalars(
            select(Stop).where(Stop.account_id == account_id, Stop.id.in_([i for i, _ in etas]))
        )}
        for stop_id, eta in etas:
            if stop_id in rows:
                rows[stop_id].eta = eta
