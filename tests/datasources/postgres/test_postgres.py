from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date

import pytest

from datasources.postgres import Database, accounts, identity, open_database, routes, stops, vehicles
from datasources.postgres.engine import normalise_url
from datasources.postgres.errors import Conflict, NotFound
from datasources.postgres.routes import NewStop
from ops import migrate
from tests.servers import postgres_database


@pytest.fixture(scope="session")
def adapter_database(postgres_admin: str) -> Iterator[str]:
    """A database of its own: the app's development principal is the first account of the app's database."""
    with postgres_database(postgres_admin) as url:
        yield url


@pytest.fixture(scope="session")
async def db(adapter_database: str) -> AsyncIterator[Database]:
    database = open_database(adapter_database)
    await migrate.upgrade(database.engine)
    yield database
    await database.close()


async def tenant(db: Database) -> int:
    slug = uuid.uuid4().hex[:12]
    return (await accounts.create_account(db, name=f"T {slug}", slug=slug)).id


def stop(n: int, lead: str | None = None) -> NewStop:
    return NewStop(f"{n} Main St", 40.0 + n / 100, -74.0, lead_id=lead)


async def test_migrations_are_at_head_and_idempotent(db: Database) -> None:
    await migrate.upgrade(db.engine)
    assert await migrate.current(db.engine) == "0004"


async def test_the_identity_migration_goes_down_and_up_again(db: Database) -> None:
    await migrate.downgrade(db.engine, "0001")
    assert await migrate.current(db.engine) == "0001"
    await migrate.upgrade(db.engine)
    assert await migrate.current(db.engine) == "0004"


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


def test_unknown_scheme_names_the_setting() -> None:
    with pytest.raises(ValueError, match="POSTGRES_URL: unsupported scheme 'mysql'"):
        normalise_url("mysql://localhost/db")
    assert normalise_url("postgresql://u@h/d") == "postgresql+asyncpg://u@h/d"
