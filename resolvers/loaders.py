"""Per-request DataLoaders: every edge between entities goes through one of these.

Keys carry the tenant, `(account_id, key)`, and each batch becomes one store call per account (in practice
one), so a query's round trips grow with its depth, never with its rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

from aiodataloader import DataLoader

from datasources.calls import store as call_store
from datasources.calls.codec import load_call
from datasources.calls.model import Call
from datasources.mongo import calls as call_logs
from datasources.mongo import leads
from datasources.mongo.records import LeadRecord
from datasources.postgres import accounts, routes, stops, vehicles
from datasources.postgres.records import AccountRecord
from datasources.stores import Stores

type Fetch = Callable[[int, list[Any]], Awaitable[Sequence[Any]]]


def tenant_loader(fetch: Fetch) -> DataLoader:
    async def batch(keys: list[tuple[int, Hashable]]) -> list[Any]:
        by_account: dict[int, list[Hashable]] = defaultdict(list)
        for account_id, key in keys:
            by_account[account_id].append(key)
        found: dict[tuple[int, Hashable], Any] = {}
        for account_id, ks in by_account.items():
            unique = list(dict.fromkeys(ks))
            values = await fetch(account_id, unique)
            found.update(((account_id, k), v) for k, v in zip(unique, values, strict=True))
        return [found[key] for key in keys]

    return DataLoader(batch)


type GroupFetch = Callable[[int, Any, list[Any]], Awaitable[Sequence[Any]]]


def grouped_loader(fetch: GroupFetch) -> DataLoader:
    """Keys `(account_id, (key, param))`: one store call per distinct (account, param), e.g. a depth or page size."""

    async def by_param(account_id: int, keys: list[tuple[Hashable, Hashable]]) -> list[Any]:
        groups: dict[Hashable, list[Hashable]] = defaultdict(list)
        for key, param in keys:
            groups[param].append(key)
        found: dict[tuple[Hashable, Hashable], Any] = {}
        for param, ks in groups.items():
            found.update(((k, param), v) for k, v in zip(ks, await fetch(account_id, param, ks), strict=True))
        return [found[k] for k in keys]

    return tenant_loader(by_param)


class Loaders:
    def __init__(self, stores: Stores) -> None:
        db, graph, vectors = stores.db, stores.graph, stores.vectors
        self.account: DataLoader = tenant_loader(lambda a, ids: _accounts(db, a, ids))
        self.user: DataLoader = tenant_loader(lambda a, ids: accounts.users_by_ids(db, account_id=a, ids=ids))
        self.vehicle: DataLoader = tenant_loader(lambda a, ids: vehicles.vehicles_by_ids(db, account_id=a, ids=ids))
        self.route: DataLoader = tenant_loader(lambda a, ids: routes.routes_by_ids(db, account_id=a, ids=ids))
        self.stop: DataLoader = tenant_loader(lambda a, ids: stops.stops_by_ids(db, account_id=a, ids=ids))
        self.stops_by_route: DataLoader = tenant_loader(
            lambda a, ids: stops.stops_by_routes(db, account_id=a, route_ids=ids)
        )
        self.stops_by_lead: DataLoader = tenant_loader(
            lambda a, ids: stops.stops_by_leads(db, account_id=a, lead_ids=ids)
        )
        self.lead: DataLoader = tenant_loader(lambda a, ids: leads.leads_by_ids(account_id=a, ids=ids))
        self.referrer: DataLoader = tenant_loader(lambda a, ids: graph.referrers(account_id=a, lead_ids=ids))
        self.colleagues: DataLoader = tenant_loader(lambda a, ids: graph.colleagues(account_id=a, lead_ids=ids))
        self.referrals: DataLoader = grouped_loader(
            lambda a, depth, ids: graph.referrals(account_id=a, lead_ids=ids, depth=depth)
        )
        self.similar: DataLoader = grouped_loader(
            lambda a, first, ids: vectors.similar_leads(account_id=a, lead_ids=ids, first=first)
        )

        redis = stores.redis
        self.call: DataLoader = tenant_loader(lambda a, ids: _calls(redis, a, ids))
        self.call_log: DataLoader = tenant_loader(lambda a, ids: call_logs.call_logs_by_ids(account_id=a, ids=ids))
        self.call_logs_of_lead: DataLoader = tenant_loader(
            lambda a, ids: call_logs.call_logs_of_leads(account_id=a, lead_ids=ids)
        )
        self.live_call_of_lead: DataLoader = tenant_loader(lambda a, ids: _live_calls_of_leads(redis, a, ids))

    async def leads(self, account_id: int, ids: Sequence[str]) -> list[LeadRecord]:
        """Loads many leads and drops the ones that no longer exist (an index may lag a delete)."""
        found = await self.lead.load_many([(account_id, i) for i in ids])
        return [lead for lead in found if lead is not None]


async def _calls(redis: Any, account_id: int, ids: list[str]) -> list[Call | None]:
    found = await call_store.calls_by_ids(redis, account_id=account_id, ids=ids)
    return [load_call(c) if c else None for c in found]


async def _live_calls_of_leads(redis: Any, account_id: int, lead_ids: list[str]) -> list[Call | None]:
    """The live call of each lead (the newest, if several): the account's active set, then one MGET."""
    active = await call_store.active_call_ids(redis, account_id=account_id)
    calls = [c for c in await _calls(redis, account_id, active) if c is not None and not c.terminal]
    newest: dict[str, Call] = {}
    for c in sorted(calls, key=lambda c: (c.updated_at is not None, c.updated_at)):
        if c.lead_id:
            newest[c.lead_id] = c
    return [newest.get(i) for i in lead_ids]


async def _accounts(db: Any, account_id: int, ids: list[int]) -> list[AccountRecord | None]:
    # A tenant can only ever see its own account row.
    record = await accounts.account(db, account_id=account_id) if account_id in ids else None
    return [record if i == account_id else None for i in ids]
