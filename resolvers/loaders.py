"""Per-request DataLoaders, bound to the caller: every edge between entities goes through one of these.

A request's loaders know one account and one principal, so a nested field can only ever read the caller's
tenant (never a record's own `account_id`), and they apply the caller's row scope: an agent's loaders find
only the agent's own and unassigned leads, a driver's only the driver's routes, their stops and those stops'
leads. Each batch is one store call, so a query's round trips grow with its depth, never with its rows.
Loaders are made on first use: most operations touch two or three of them.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from functools import cached_property
from typing import Any

from aiodataloader import DataLoader

from datasources import signals
from datasources.calls import logs as call_logs_redis
from datasources.calls import store as call_store
from datasources.calls.codec import load_call
from datasources.calls.model import Call, dtmf_of, transcript_of
from datasources.mongo import calls as call_logs
from datasources.mongo import leads
from datasources.mongo.calls import CallLogRecord
from datasources.mongo.records import LeadRecord
from datasources.postgres import accounts, routes, stops, vehicles
from datasources.postgres.records import AccountRecord, RouteRecord, StopRecord
from datasources.stores import Stores
from resolvers.principal import Principal, Role

type GroupFetch = Callable[[Any, list[Any]], Awaitable[Sequence[Any]]]


class CountedLoader(DataLoader):
    """A DataLoader that reports its cache hits and batch sizes (`loader-load`, `loader-batch`) by name."""

    name = "unnamed"

    def __init__(self, batch: Callable[[list[Any]], Awaitable[list[Any]]]) -> None:
        async def counted(keys: list[Any]) -> list[Any]:
            signals.loader_batch.send(self.name, size=len(keys))
            return await batch(keys)

        super().__init__(counted)

    def load(self, key: Any) -> Any:
        signals.loader_load.send(self.name, hit=self.get_cache_key(key) in self._cache)
        return super().load(key)


class loader_property[T: CountedLoader](cached_property[T]):  # noqa: N801 (a decorator, named like cached_property)
    """`cached_property` that names the loader after its attribute, for the metrics."""

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        made = super().__get__(instance, owner)
        made.name = self.attrname or made.name
        return made


def loader(fetch: Callable[[list[Any]], Awaitable[Sequence[Any]]]) -> CountedLoader:
    async def batch(keys: list[Hashable]) -> list[Any]:
        unique = list(dict.fromkeys(keys))
        found = dict(zip(unique, await fetch(unique), strict=True))
        return [found[k] for k in keys]

    return CountedLoader(batch)


def grouped_loader(fetch: GroupFetch) -> CountedLoader:
    """Keys `(key, param)`: one store call per distinct param, e.g. a depth or a page size."""

    async def batch(keys: list[tuple[Hashable, Hashable]]) -> list[Any]:
        groups: dict[Hashable, list[Hashable]] = defaultdict(list)
        for key, param in dict.fromkeys(keys):
            groups[param].append(key)
        found: dict[tuple[Hashable, Hashable], Any] = {}
        for param, ks in groups.items():
            found.update(((k, param), v) for k, v in zip(ks, await fetch(param, ks), strict=True))
        return [found[k] for k in keys]

    return CountedLoader(batch)


def data_scope(principal: Principal) -> tuple[int, Role, int | None]:
    """What a caller's loaders' answers depend on: the account, the role, and the user for the roles with a row
    scope (an agent's leads, a driver's routes). Two callers with the same scope read the same rows and may share
    what was resolved for one of them (a subscription event's answer, resolvers/calls/subscriptions.py)."""
    scoped = principal.role in (Role.agent, Role.driver)
    return principal.account_id, principal.role, principal.user_id if scoped else None


class Loaders:
    def __init__(self, stores: Stores, principal: Principal) -> None:
        self.stores = stores
        self.principal = principal
        self.account_id = principal.account_id
        self._driver_scope: asyncio.Future[tuple[frozenset[int], frozenset[str]]] | None = None
        # leads read for some of their fields (`lead_view`): the fields read and the record
        self._lead_views: dict[str, tuple[frozenset[str], LeadRecord | None]] = {}

    # -- row scope -------------------------------------------------------------------------------------------

    async def driver_scope(self) -> tuple[frozenset[int], frozenset[str]]:
        """A driver's route ids and the lead ids their stops visit, read once per request."""
        if self._driver_scope is None:
            assert self.principal.user_id is not None
            self._driver_scope = asyncio.ensure_future(
                stops.driver_scope(self.stores.db, account_id=self.account_id, driver_id=self.principal.user_id)
            )
        return await self._driver_scope

    def data_scope(self) -> tuple[int, Role, int | None]:
        return data_scope(self.principal)

    def lead_owners(self) -> list[int | None] | None:
        """The owners whose leads the caller sees (None: any owner)."""
        if self.principal.role is Role.agent:
            return [None, self.principal.user_id] if self.principal.user_id is not None else [None]
        return None

    async def sees_lead(self, lead: LeadRecord) -> bool:
        owners = self.lead_owners()
        if owners is not None:
            return lead.owner_id in owners
        if self.principal.role is Role.driver:
            return lead.id in (await self.driver_scope())[1]
        return True

    async def _sees_route(self, route_id: int) -> bool:
        if self.principal.role is not Role.driver:
            return True
        return route_id in (await self.driver_scope())[0]

    async def _visible_leads(self, found: Sequence[LeadRecord | None]) -> list[LeadRecord | None]:
        return [r if r is not None and await self.sees_lead(r) else None for r in found]

    async def _visible_stops(self, found: Sequence[StopRecord | None]) -> list[StopRecord | None]:
        return [s if s is not None and await self._sees_route(s.route_id) else None for s in found]

    async def sees_call(self, call: Call) -> bool:
        return (await self._visible_calls([call]))[0] is not None

    async def _visible_calls(self, found: Sequence[Call | None]) -> list[Call | None]:
        if self.principal.role is not Role.agent:
            return list(found)
        lead_ids = [c.lead_id for c in found if c is not None and c.lead_id]
        seen = {r.id for r in await self.lead.load_many(lead_ids) if r is not None}
        me = self.principal.user_id
        return [c if c is not None and (c.lead_id in seen or (me is not None and c.agent_id == me)) else None
                for c in found]

    # -- PostgreSQL ------------------------------------------------------------------------------------------

    @loader_property
    def account(self) -> CountedLoader:
        return loader(self._accounts)

    async def _accounts(self, ids: list[int]) -> list[AccountRecord | None]:
        # a tenant can only ever see its own account row
        record = await accounts.account(self.stores.db, account_id=self.account_id) if self.account_id in ids else None
        return [record if i == self.account_id else None for i in ids]

    @loader_property
    def user(self) -> CountedLoader:
        return loader(lambda ids: accounts.users_by_ids(self.stores.db, account_id=self.account_id, ids=ids))

    @loader_property
    def vehicle(self) -> CountedLoader:
        return loader(lambda ids: vehicles.vehicles_by_ids(self.stores.db, account_id=self.account_id, ids=ids))

    @loader_property
    def route(self) -> CountedLoader:
        return loader(self._routes)

    async def _routes(self, ids: list[int]) -> list[RouteRecord | None]:
        found = await routes.routes_by_ids(self.stores.db, account_id=self.account_id, ids=ids)
        return [r if r is not None and await self._sees_route(r.id) else None for r in found]

    @loader_property
    def stop(self) -> CountedLoader:
        async def fetch(ids: list[int]) -> list[StopRecord | None]:
            return await self._visible_stops(
                await stops.stops_by_ids(self.stores.db, account_id=self.account_id, ids=ids)
            )

        return loader(fetch)

    @loader_property
    def stops_by_route(self) -> CountedLoader:
        async def fetch(ids: list[int]) -> list[list[StopRecord]]:
            found = await stops.stops_by_routes(self.stores.db, account_id=self.account_id, route_ids=ids)
            return [[s for s in group if await self._sees_route(s.route_id)] for group in found]

        return loader(fetch)

    @loader_property
    def stops_by_lead(self) -> CountedLoader:
        async def fetch(ids: list[str]) -> list[list[StopRecord]]:
            found = await stops.stops_by_leads(self.stores.db, account_id=self.account_id, lead_ids=ids)
            return [[s for s in group if await self._sees_route(s.route_id)] for group in found]

        return loader(fetch)

    # -- MongoDB ---------------------------------------------------------------------------------------------

    @loader_property
    def lead(self) -> CountedLoader:
        async def fetch(ids: list[str]) -> list[LeadRecord | None]:
            return await self._visible_leads(await leads.leads_by_ids(account_id=self.account_id, ids=ids))

        return loader(fetch)

    @loader_property
    def lead_view(self) -> CountedLoader:
        """Keys `(lead id, fields)`: the lead with at least these fields of its record read (`leads_by_ids`'
        `fields`; the others hold defaults, so the record is for the resolver that named them). A batch is one
        read of the union of its keys' fields; a lead this request already read whole (`lead`) or with more
        fields answers from that."""

        async def fetch(keys: list[tuple[str, frozenset[str]]]) -> list[LeadRecord | None]:
            found: dict[str, LeadRecord | None] = {}
            whole: CountedLoader | None = self.__dict__.get("lead")
            for lead_id, need in keys:
                if whole is not None and lead_id in whole._cache:
                    found[lead_id] = await whole._cache[lead_id]
                elif lead_id in self._lead_views and need <= self._lead_views[lead_id][0]:
                    found[lead_id] = self._lead_views[lead_id][1]
            missing = list(dict.fromkeys(i for i, _ in keys if i not in found))
            if missing:
                # and what the row scope looks at (`sees_lead`)
                union = frozenset().union(*(need for _, need in keys), ("owner_id",))
                read = await leads.leads_by_ids(account_id=self.account_id, ids=missing, fields=union)
                for lead_id, record in zip(missing, await self._visible_leads(read), strict=True):
                    self._lead_views[lead_id] = (union, record)
                    found[lead_id] = record
            return [found[lead_id] for lead_id, _ in keys]

        return loader(fetch)

    async def leads(self, ids: Sequence[str]) -> list[LeadRecord]:
        """Loads many leads and drops the ones the caller cannot see or that no longer exist."""
        found = await self.lead.load_many(list(ids))
        return [lead for lead in found if lead is not None]

    @loader_property
    def call_log(self) -> CountedLoader:
        async def fetch(ids: list[str]) -> list[CallLogRecord | None]:
            found = await call_logs.call_logs_by_ids(account_id=self.account_id, ids=ids)
            if self.principal.role is not Role.agent:
                return found
            seen = {r.id for r in await self.lead.load_many([g.lead_id for g in found if g and g.lead_id])
                    if r is not None}
            return [g if g is not None and g.lead_id in seen else None for g in found]

        return loader(fetch)

    @loader_property
    def call_logs_of_lead(self) -> CountedLoader:
        """Keys `(lead id, (limit, after))`: a page of the lead's call logs, without their events."""
        return grouped_loader(
            lambda param, ids: call_logs.call_logs_of_leads(
                account_id=self.account_id, lead_ids=ids, limit=param[0], after=param[1]
            )
        )

    # -- the graph and Chroma --------------------------------------------------------------------------------

    @loader_property
    def referrer(self) -> CountedLoader:
        return loader(lambda ids: self.stores.graph.referrers(account_id=self.account_id, lead_ids=ids))

    @loader_property
    def colleagues(self) -> CountedLoader:
        return loader(lambda ids: self.stores.graph.colleagues(account_id=self.account_id, lead_ids=ids))

    @loader_property
    def referrals(self) -> CountedLoader:
        return grouped_loader(
            lambda depth, ids: self.stores.graph.referrals(account_id=self.account_id, lead_ids=ids, depth=depth)
        )

    @loader_property
    def similar(self) -> CountedLoader:
        return grouped_loader(
            lambda first, ids: self.stores.vectors.similar_leads(account_id=self.account_id, lead_ids=ids, first=first)
        )

    # -- Redis -----------------------------------------------------------------------------------------------

    @loader_property
    def call(self) -> CountedLoader:
        async def fetch(ids: list[str]) -> list[Call | None]:
            return await self._visible_calls(await self._calls(ids))

        return loader(fetch)

    async def _calls(self, ids: list[str]) -> list[Call | None]:
        found = await call_store.calls_by_ids(self.stores.redis, account_id=self.account_id, ids=ids)
        return [load_call(c) if c else None for c in found]

    @loader_property
    def live_call_of_lead(self) -> CountedLoader:
        return loader(self._live_calls_of_leads)

    async def _live_calls_of_leads(self, lead_ids: list[str]) -> list[Call | None]:
        """The live call of each lead (the newest, if several): the asked leads' entries of the lead -> live call
        index, then one MGET of just those calls, whatever the number of calls live in the account."""
        redis, account_id = self.stores.redis, self.account_id
        ids_of = await call_store.live_call_ids_of_leads(redis, account_id=account_id, lead_ids=lead_ids)
        calls = await self._calls(sorted({i for ids in ids_of for i in ids}))
        newest: dict[str, Call] = {}
        for c in sorted((c for c in calls if c is not None and not c.terminal),
                        key=lambda c: (c.updated_at is not None, c.updated_at)):
            if c.lead_id:
                newest[c.lead_id] = c
        return [newest.get(i) for i in lead_ids]

    @loader_property
    def call_transcript(self) -> CountedLoader:
        """A call's transcript (`model.transcript_of`): its transcript log while Redis keeps it, else the record's
        (an archived call's log from MongoDB, or a live call's AI message history). Keyed by (call id, the record's
        `transcript`)."""

        async def fetch(calls: list[tuple[str, tuple[str, ...]]]) -> list[list[str]]:
            ids = [call_id for call_id, _ in calls]
            found = await call_logs_redis.transcript_logs(self.stores.redis, account_id=self.account_id, call_ids=ids)
            return [transcript_of(lines, kept) for (_, kept), lines in zip(calls, found, strict=True)]

        return loader(fetch)

    @loader_property
    def call_dtmf(self) -> CountedLoader:
        """A call's DTMF digits, from its log (the caller already holds the call, so it may see it)."""

        async def fetch(ids: list[str]) -> list[str]:
            found = await call_logs_redis.dtmf_logs(self.stores.redis, account_id=self.account_id, call_ids=ids)
            return [dtmf_of(lines) for lines in found]

        return loader(fetch)
