"""The loader plumbing: one fetch per account and parameter per batch, results back in key order."""

from __future__ import annotations

import asyncio

from resolvers.loaders import grouped_loader, tenant_loader


async def test_one_fetch_per_account_in_key_order() -> None:
    calls: list[tuple[int, list[str]]] = []

    async def fetch(account_id: int, ids: list[str]) -> list[str]:
        calls.append((account_id, ids))
        return [f"{account_id}:{i}" for i in ids]

    loader = tenant_loader(fetch)
    keys = [(1, "a"), (2, "a"), (1, "b"), (1, "a")]
    assert await asyncio.gather(*(loader.load(k) for k in keys)) == ["1:a", "2:a", "1:b", "1:a"]
    assert sorted(calls) == [(1, ["a", "b"]), (2, ["a"])]


async def test_grouped_loader_fetches_once_per_parameter() -> None:
    calls: list[tuple[int, int, list[str]]] = []

    async def fetch(account_id: int, depth: int, ids: list[str]) -> list[str]:
        calls.append((account_id, depth, ids))
        return [f"{i}@{depth}" for i in ids]

    loader = grouped_loader(fetch)
    keys = [(1, ("x", 1)), (1, ("y", 1)), (1, ("x", 2))]
    assert await asyncio.gather(*(loader.load(k) for k in keys)) == ["x@1", "y@1", "x@2"]
    assert sorted(calls) == [(1, 1, ["x", "y"]), (1, 2, ["x"])]
