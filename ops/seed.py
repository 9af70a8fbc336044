"""Writes the demo data set into every store (`switchboard seed`, and the embedded default's first start).

Re-runnable: a demo account left half-written by an interrupted run is removed from every store and
written again; the marker that says "seeded" is set only once all stores hold their part.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from datasources.mongo import leads as lead_store
from datasources.mongo import projection
from datasources.mongo.documents import utcnow
from datasources.mongo.records import LeadRecord
from datasources.postgres import accounts, call_agent, identity, routes, vehicles
from datasources.postgres.routes import NewStop
from datasources.redis import keys
from datasources.stores import Stores
from ops.demo_data import DemoAccount, demo_account
from ops.demo_users import DemoCredential, demo_password
from resolvers.identity.passwords import hash_password
from resolvers.leads.propagate import lead_text

log = logging.getLogger(__name__)

MONGO_BATCH = 50  # mongoeco's insert_many grows with the square of the batch
VECTOR_BATCH = 64
GRAPH_BATCH = 25

DEMO_ACCOUNTS = [("Acme Logistics", "acme", 1.0, 12, 7), ("Globex Field Services", "globex", 0.2, 3, 11)]


def _chunks[T](items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def is_seeded(stores: Stores) -> bool:
    return bool(await stores.redis.exists(keys.seed_marker()))


async def clear_account(stores: Stores, slug: str) -> None:
    found = await accounts.account_by_slug(stores.db, slug=slug)
    if found is None:
        return
    await lead_store.clear_account(account_id=found.id)
    await stores.vectors.clear_account(account_id=found.id)
    await stores.graph.clear_account(account_id=found.id)
    await accounts.delete_account(stores.db, account_id=found.id)


async def seed_account(
    stores: Stores, demo: DemoAccount, progress: Callable[[str], None], credentials: list[DemoCredential]
) -> int:
    account = await accounts.create_account(stores.db, name=demo.name, slug=demo.slug, timezone="America/New_York")
    a = account.id
    users = []
    for u in demo.users:
        password = demo_password()
        users.append(await identity.create_user(
            stores.db, account_id=a, email=u.email, full_name=u.full_name, role=u.role,
            password_hash=await hash_password(password),
        ))
        credentials.append(DemoCredential(demo.slug, u.email, password, u.role))
        if u.closer_phone:
            await call_agent.set_on_duty(stores.db, account_id=a, user_id=users[-1].id, on_duty=True,
                                         phone=u.closer_phone)
    fleet = [
        await vehicles.create_vehicle(stores.db, account_id=a, plate=p, name=n, kind=k, capacity_kg=c, planning=plan)
        for (p, n, k, c), plan in zip(demo.vehicles, demo.vehicle_planning, strict=True)
    ]
    for lead, owner in zip(demo.leads, demo.owner_indexes, strict=True):
        lead.owner_id = users[owner].id if owner is not None else None
    created: list[LeadRecord] = []
    for new in _chunks(demo.leads, MONGO_BATCH):
        created += await lead_store.create_leads(account_id=a, data=new)
    progress(f"{demo.slug}: {len(created)} leads in MongoDB")
    for batch in _chunks(created, VECTOR_BATCH):
        await stores.vectors.upsert_leads(account_id=a, items=[lead_text(r) for r in batch])
    progress(f"{demo.slug}: leads indexed in Chroma")
    for batch in _chunks(created, GRAPH_BATCH):
        await stores.graph.upsert_leads(
            account_id=a,
            leads=[(r.id, r.company.name, str(r.owner_id) if r.owner_id else None) for r in batch],
        )
    for batch in _chunks(created, MONGO_BATCH):
        await projection.mark_all_projected(records=batch, at=utcnow())
    for source, target in demo.referrals:
        await stores.graph.link_leads(account_id=a, from_id=created[source].id, to_id=created[target].id)
    progress(f"{demo.slug}: graph holds leads, companies, owners and {len(demo.referrals)} referrals")
    for route in demo.routes:
        await routes.create_route(
            stores.db,
            account_id=a,
            number=route.number,
            name=route.name,
            on=route.on,
            driver_id=users[route.driver_index].id if route.driver_index is not None else None,
            vehicle_id=fleet[route.vehicle_index].id if route.vehicle_index is not None else None,
            stops=[
                NewStop(s.address, s.latitude, s.longitude, "visit", created[s.lead_index].id, s.window_start,
                        s.window_end, s.demand, s.service_min)
                for s in route.stops
            ],
        )
    progress(f"{demo.slug}: {len(demo.routes)} routes with stops that visit leads")
    return a


async def seed_demo(
    stores: Stores, *, leads: int, progress: Callable[[str], None] = log.info
) -> tuple[list[int], list[DemoCredential]]:
    """Replaces the demo accounts in every store, then marks the data folder as seeded. Returns the accounts'
    ids and their users' sign-in credentials (fresh random passwords, one user per role at least)."""
    await stores.redis.delete(keys.seed_marker())
    ids: list[int] = []
    credentials: list[DemoCredential] = []
    for name, slug, share, route_count, seed in DEMO_ACCOUNTS:
        await clear_account(stores, slug)
        demo = demo_account(name, slug, leads=int(leads * share), routes=route_count, seed=seed)
        ids.append(await seed_account(stores, demo, progress, credentials))
    await stores.redis.set(keys.seed_marker(), ",".join(map(str, ids)))
    return ids, credentials
