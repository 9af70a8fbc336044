from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg
import pytest
from sqlalchemy.exc import DisconnectionError

from datasources.outage import UNREACHABLE
from datasources.postgres import Database, accounts, identity, open_database, routes, stops, vehicles
from datasources.postgres.engine import DriverStatement, normalise_url
from datasources.postgres.errors import Conflict, NotFound
from datasources.postgres.routes import NewStop
from ops import migrate


async def tenant(db: Database) -> int:
    slug = uuid.uuid4().hex[:12]
    return (await accounts.create_account(db, name=f"T {slug}", slug=slug)).id


def migrate_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrate.alembic_config("postgresql://")).get_current_head()
    assert head is not None
    return head


# 0003 is the fleet planning revision; a later one (voice adds 0004) moves the head
HEAD = migrate_head()


def stop(n: int, lead: str | None = None) -> NewStop:
    return NewStop(f"{n} Main St", 40.0 + n / 100, -74.0, lead_id=lead)


async def test_migrations_are_at_head_and_idempotent(db: Database) -> None:
    await migrate.upgrade(db.engine)
    assert await migrate.current(db.engine) == HEAD


async def test_the_identity_migration_goes_down_and_up_again(db: Database) -> None:
    await migrate.downgrade(db.engine, "0001")
    assert await migrate.current(db.engine) == "0001"
    await migrate.upgrade(db.engine)
    assert await migrate.current(db.engine) == HEAD


async def test_the_fleet_planning_migration_goes_down_and_up_again(db: Database) -> None:
    a = await tenant(db)
    made = await routes.create_route(db, account_id=a, number="M-1", name="M", on=date(2030, 1, 2),
                                     stops=[NewStop("1 Main St", 40.0, -74.0, demand=3, service_min=5.0)])
    await migrate.downgrade(db.engine, "0002")
    assert await migrate.current(db.engine) == "0002"
    await migrate.upgrade(db.engine, "0003")
    assert await migrate.current(db.engine) == "0003"
    await migrate.upgrade(db.engine)
    (kept,) = await stops.stops_by_routes(db, account_id=a, route_ids=[made.id])
    # the planning columns came back with their defaults; the stop itself survived
    assert (kept[0].address, kept[0].demand, kept[0].service_min) == ("1 Main St", 0, 0.0)
    van = await vehicles.create_vehicle(db, account_id=a, plate="MIG-1", name="M", kind="van", capacity_kg=1.0)
    assert (van.capacity, van.shift_start.hour, van.shift_end.hour, van.depot_latitude) == (100, 8, 18, None)


async def test_batch_reads_keep_key_order_and_none_for_missing(db: Database) -> None:
    a = await tenant(db)
    u1 = await identity.create_user(db, account_id=a, email="one@x.example", full_name="One", role="agent",
                                    password_hash=None)
    u2 = await identity.create_user(db, account_id=a, email="two@x.example", full_name="Two", role="driver",
                                    password_hash=None)
    found = await accounts.users_by_ids(db, account_id=a, ids=[u2.id, 999_999, u1.id])
    assert [u.email if u else None for u in found] == ["two@x.example", None, "one@x.example"]


async def test_a_tenant_never_reads_another_tenants_rows(db: Database) -> None:
    a, b = await tenant(db), await tenant(db)
    user = await identity.create_user(db, account_id=a, email="a@x.example", full_name="A", role="owner",
                                      password_hash=None)
    van = await vehicles.create_vehicle(db, account_id=a, plate="AB-1", name="Van", kind="van", capacity_kg=900)
    route = await routes.create_route(
        db, account_id=a, number="R1", name="R1", on=date(2026, 12, 1), stops=[stop(1, "l1")]
    )
    assert await accounts.users_by_ids(db, account_id=b, ids=[user.id]) == [None]
    assert await vehicles.vehicles_by_ids(db, account_id=b, ids=[van.id]) == [None]
    assert await routes.routes_by_ids(db, account_id=b, ids=[route.id]) == [None]
    assert await stops.stops_by_routes(db, account_id=b, route_ids=[route.id]) == [[]]
    assert await stops.stops_by_leads(db, account_id=b, lead_ids=["l1"]) == [[]]
    with pytest.raises(NotFound):
        await routes.create_route(db, account_id=b, number="R1", name="x", on=date(2026, 12, 1), driver_id=user.id)


async def test_routes_stops_reorder_and_conflicts(db: Database) -> None:
    a = await tenant(db)
    route = await routes.create_route(
        db, account_id=a, number="R9", name="R9", on=date(2026, 12, 2), stops=[stop(1, "l1"), stop(2, "l2")]
    )
    await routes.add_stop(db, account_id=a, route_id=route.id, stop=stop(3, "l1"))
    [current] = await stops.stops_by_routes(db, account_id=a, route_ids=[route.id])
    assert [s.sequence for s in current] == [1, 2, 3]
    new_order = [current[2].id, current[0].id, current[1].id]
    await routes.reorder_stops(db, account_id=a, route_id=route.id, stop_ids=new_order)
    [after] = await stops.stops_by_routes(db, account_id=a, route_ids=[route.id])
    assert [s.id for s in after] == new_order
    with pytest.raises(Conflict):
        await routes.reorder_stops(db, account_id=a, route_id=route.id, stop_ids=new_order[:2])
    by_lead = await stops.stops_by_leads(db, account_id=a, lead_ids=["l1", "l2", "nobody"])
    assert [len(x) for x in by_lead] == [2, 1, 0]
    with pytest.raises(Conflict):
        await routes.create_route(db, account_id=a, number="R9", name="again", on=date(2026, 12, 2))
    page = await routes.list_routes(db, account_id=a, limit=10)
    assert [r.number for r in page] == ["R9"]


async def test_driver_reads_give_the_records_the_writes_gave(db: Database) -> None:
    """Batch reads run on asyncpg directly (DriverStatement): each record equals the one built from the ORM row
    the write returned, field for field, types included (nulls, times, floats, microseconds)."""
    a = await tenant(db)
    account = (await accounts.list_accounts(db))[-1]
    user = await identity.create_user(db, account_id=a, email=f"{uuid.uuid4().hex[:8]}@x.example", full_name="D",
                                      role="driver", password_hash=None)
    van = await vehicles.create_vehicle(db, account_id=a, plate=uuid.uuid4().hex[:8], name="V", kind="van",
                                        capacity_kg=812.25)
    route = await routes.create_route(db, account_id=a, number="D-1", name="D", on=date(2031, 5, 6),
                                      stops=[stop(1, lead="64b7f0c2e1d3a4b5c6d7e8f9"), stop(2)])
    route = await routes.assign_route(db, account_id=a, route_id=route.id, driver_id=user.id, vehicle_id=van.id)
    arrived = await stops.update_stop_status(db, account_id=a, stop_id=(await stops.stops_by_routes(
        db, account_id=a, route_ids=[route.id]))[0][0].id, status="arrived")
    assert arrived.arrived_at is not None and arrived.arrived_at.microsecond  # written by Python, to the µs
    assert await accounts.account(db, account_id=account.id) == account
    assert await accounts.users_by_ids(db, account_id=a, ids=[user.id, 0]) == [user, None]
    (read_van,) = await vehicles.vehicles_by_ids(db, account_id=a, ids=[van.id])
    assert read_van == van and type(read_van.capacity_kg) is float  # equality alone would take a Decimal
    assert await routes.routes_by_ids(db, account_id=a, ids=[route.id]) == [route]
    (by_route,) = await stops.stops_by_routes(db, account_id=a, route_ids=[route.id])
    assert by_route[0] == arrived and await stops.stops_by_ids(db, account_id=a, ids=[s.id for s in by_route]) \
        == by_route
    assert await stops.stops_by_leads(db, account_id=a, lead_ids=["64b7f0c2e1d3a4b5c6d7e8f9"]) == [[arrived]]


async def test_a_driver_read_gives_its_connection_back_or_replaces_a_lost_one(adapter_database: str) -> None:
    """`Database.fetch` checks a connection out bare: it goes back after a failed statement, and one the server
    ended fails its read as a lost connection, then gives way to a fresh one."""
    db = open_database(adapter_database, pool_size=1, max_overflow=0)
    pool: Any = db.engine.sync_engine.pool  # a QueuePool
    whoami = DriverStatement("SELECT pg_backend_pid()", ())
    try:
        with pytest.raises(asyncpg.exceptions.UndefinedTableError):
            await db.fetch(DriverStatement("SELECT 1 FROM no_such_table", ()))
        assert pool.checkedout() == 0
        pid = (await db.fetch(whoami))[0][0]
        assert (await db.fetch(whoami))[0][0] == pid  # the one connection, given back each time
        other = await asyncpg.connect(adapter_database.replace("+asyncpg", ""))
        try:
            assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await other.close()
        with pytest.raises((*UNREACHABLE, DisconnectionError)):
            await db.fetch(whoami)
        assert pool.checkedout() == 0
        assert (await db.fetch(whoami))[0][0] != pid
    finally:
        await db.close()


def test_unknown_scheme_names_the_setting() -> None:
    with pytest.raises(ValueError, match="POSTGRES_URL: unsupported scheme 'mysql'"):
        normalise_url("mysql://localhost/db")
    assert normalise_url("postgresql://u@h/d") == "postgresql+asyncpg://u@h/d"
