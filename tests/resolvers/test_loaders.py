"""The loader plumbing: one fetch per batch (per parameter for grouped loaders), results back in key order."""

from __future__ import annotations

import asyncio
from typing import cast

from datasources.stores import Stores
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
