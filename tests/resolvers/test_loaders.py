"""The loader plumbing: one fetch per batch (per parameter for grouped loaders), results back in key order."""

from __future__ import annotations

import asyncio

from resolvers.loaders import grouped_loader, loader


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
