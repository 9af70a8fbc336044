"""The loader plumbing: one fetch per batch (per parameter for grouped loaders), results back in key order."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import cast

import pytest
from bson import ObjectId

from datasources.mongo.leads import lead_record_of
from datasources.mongo.records import LeadRecord
from datasources.stores import Stores
from resolvers import loaders as loaders_module
from resolvers.loaders import Loaders, grouped_loader, loader
from resolvers.principal import Principal, Role


async def test_one_fetch_per_batch_in_key_order() -> None:
    calls: list[list[str]] = []

    async def fetch(ids: list[str]) -> list[str]:
        calls.append(ids)
        return [f"found:{i}" for i in ids]

    load = loader(fetch)
    keys = ["a", "b", "a", "c"]
    assert await asyncio.gather(*(load.load(k) for k in keys)) == ["found:a", "found:b", "found:a", "found:c"]
    assert calls == [["a", "b", "c"]]


async def test_grouped_loader_fetches_once_per_parameter() -> None:
    calls: list[tuple[int, list[str]]] = []

    async def fetch(depth: int, ids: list[str]) -> list[str]:
        calls.append((depth, ids))
        return [f"{i}@{depth}" for i in ids]

    load = grouped_loader(fetch)
    keys = [("x", 1), ("y", 1), ("x", 2)]
    assert await asyncio.gather(*(load.load(k) for k in keys)) == ["x@1", "y@1", "x@2"]
    assert sorted(calls) == [(1, ["x", "y"]), (2, ["x"])]


def test_the_data_scope_names_the_user_only_where_rows_are_the_users_own() -> None:
    """What subscribers may share (resolvers/calls/subscriptions.py): the same account and role see the same rows,
    except an agent's leads and a driver's routes, which are their own."""

    def scope(role: Role, user_id: int, account_id: int = 1) -> tuple[int, Role, int | None]:
        return Loaders(cast(Stores, None), Principal(account_id, role, user_id=user_id)).data_scope()

    assert scope(Role.owner, 1) == scope(Role.owner, 2) == (1, Role.owner, None)
    assert scope(Role.owner, 1) != scope(Role.owner, 1, account_id=2)
    assert scope(Role.manager, 1) != scope(Role.viewer, 1)
    for own_rows in (Role.agent, Role.driver):
        assert scope(own_rows, 1) != scope(own_rows, 2)


async def test_lead_views_read_the_union_once_and_keep_the_row_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    """`lead_view`: one read of the batch's fields (and the owner, for the row scope) for the leads the request
    has not read yet with those fields; an agent still sees only their own and unassigned leads."""
    owners = {"a": 5, "b": None, "c": 9, "d": 9}
    calls: list[tuple[list[str], frozenset[str]]] = []

    async def leads_by_ids(*, account_id: int, ids: list[str], fields: frozenset[str]) -> list[LeadRecord]:
        calls.append((ids, fields))
        return [replace(lead_record_of({"_id": ObjectId(), "owner_id": owners[i]}, account_id=account_id), id=i)
                for i in ids]

    monkeypatch.setattr(loaders_module.leads, "leads_by_ids", leads_by_ids)
    agent = Loaders(cast(Stores, None), Principal(1, Role.agent, user_id=5))
    found = await agent.lead_view.load_many([("a", frozenset({"status"})), ("b", frozenset({"first_name"})),
                                             ("c", frozenset({"status"}))])
    assert [r.id if r else None for r in found] == ["a", "b", None]
    assert calls == [(["a", "b", "c"], frozenset({"status", "first_name", "owner_id"}))]
    # read with these fields already, or primed whole: no read
    assert (await agent.lead_view.load(("a", frozenset({"first_name", "status"})))).id == "a"
    agent.lead.prime("d", replace(found[0], id="d", owner_id=None))
    assert (await agent.lead_view.load(("d", frozenset({"email"})))).id == "d"
    assert len(calls) == 1
    # a field not read yet: one more read
    assert (await agent.lead_view.load(("a", frozenset({"email"})))).id == "a"
    assert calls[1] == (["a"], frozenset({"email", "owner_id"}))
