"""Chroma migration 2 with data, on both backends: shared collections -> one per account -> shared -> per account.

Version 1's layout is written directly with chromadb (as a store made before migration 2 holds it), more records
than a page so the move pages; every step is read back with the raw client: counts, documents, metadata and
embeddings survive each move, and the store answers from the per-account collections.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from datasources import migrations as versioned
from datasources.vectors import MiniLMEmbedder, VectorStore, open_vectors
from datasources.vectors.migrations import VectorLedger, migrations
from datasources.vectors.shared import PAGE, names
from ops.embedded.chroma import start_chroma

ACCOUNTS = (3, 17, 250)
LEADS_PER_ACCOUNT = PAGE // 2 + 7  # the shared collection spans several pages
Item = tuple[str | None, dict[str, Any] | None, np.ndarray]


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = start_chroma(tmp_path_factory.mktemp("chroma-migrations"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=["persistent", "http"])
async def store(
    request: pytest.FixtureRequest, embedder: MiniLMEmbedder, tmp_path: Path
) -> AsyncIterator[VectorStore]:
    url = "" if request.param == "persistent" else request.getfixturevalue("own_server")
    vectors = open_vectors(url, path=tmp_path / "chroma", embedder=embedder)
    try:
        yield vectors
    finally:
        client = await vectors.client()
        for name in await names(client):  # the server outlives the test: leave it empty
            await client.delete_collection(name)
        await vectors.close()


def unit_rows(n: int, rng: np.random.Generator) -> np.ndarray:
    rows = rng.standard_normal((n, 384)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


async def write_version_1(client: Any) -> dict[str, dict[str, Item]]:
    """Version 1's shared collections with leads of every account, some conversations, and one stray record."""
    rng = np.random.default_rng(7)
    written: dict[str, dict[str, Item]] = {"leads": {}, "conversations": {}}
    for account_id in ACCOUNTS:
        vectors = unit_rows(LEADS_PER_ACCOUNT, rng)
        for n in range(LEADS_PER_ACCOUNT):
            written["leads"][f"lead-{account_id}-{n}"] = (
                f"lead {n} of {account_id}", {"account_id": account_id, "status": "new", "source": "web"}, vectors[n])
        for n, vector in enumerate(unit_rows(3, rng)):
            written["conversations"][f"call-{account_id}-{n}"] = (
                f"call {n}", {"account_id": account_id, "lead_id": f"lead-{account_id}-{n}", "outcome": "won"}, vector)
    for name, items in written.items():
        collection = await client.get_collection(name, embedding_function=None)
        ids = list(items)
        for start in range(0, len(ids), 300):
            chunk = ids[start : start + 300]
            await collection.upsert(ids=chunk, documents=[items[i][0] for i in chunk],
                                    metadatas=[items[i][1] for i in chunk],  # type: ignore[misc]
                                    embeddings=[items[i][2] for i in chunk])
    stray = await client.get_collection("leads", embedding_function=None)
    await stray.upsert(ids=["stray"], documents=["no tenant"], metadatas=[{"status": "new"}],
                       embeddings=[unit_rows(1, rng)[0]])
    return written


async def read(client: Any, name: str) -> dict[str, Item]:
    collection = await client.get_collection(name, embedding_function=None)
    got = await collection.get(include=["documents", "metadatas", "embeddings"])
    return {i: (d, m, np.asarray(e)) for i, d, m, e in
            zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)}


def assert_items(got: dict[str, Item], expected: dict[str, Item]) -> None:
    assert got.keys() == expected.keys()
    for item_id, (document, metadata, embedding) in expected.items():
        assert got[item_id][:2] == (document, metadata), item_id
        assert np.abs(got[item_id][2] - embedding).max() <= 1e-6, item_id


def of_account(items: dict[str, Item], account_id: int) -> dict[str, Item]:
    return {i: item for i, item in items.items() if item[1] and item[1]["account_id"] == account_id}


async def assert_per_account(vectors: VectorStore, written: dict[str, dict[str, Item]]) -> None:
    client = await vectors.client()
    assert not {"leads", "conversations"} & set(await names(client))
    for account_id in ACCOUNTS:
        for kind in ("leads", "conversations"):
            assert_items(await read(client, f"{kind}_{account_id}"), of_account(written[kind], account_id))
        assert await vectors.count(account_id=account_id) == LEADS_PER_ACCOUNT
        lead_id = f"lead-{account_id}-5"
        [nearest] = await vectors.nearest_leads(account_id=account_id, vector=written["leads"][lead_id][2], first=1)
        assert nearest.id == lead_id and nearest.score == pytest.approx(1.0, abs=1e-5)


async def test_vectors_move_to_per_account_collections_and_back(store: VectorStore) -> None:
    steps, ledger = migrations(store), VectorLedger(store)
    await versioned.up(steps, ledger, to=1)
    client = await store.client()
    written = await write_version_1(client)

    assert [m.version for m in await versioned.up(steps, ledger)] == [2]
    await assert_per_account(store, written)

    assert [m.version for m in await versioned.down(steps, ledger, to=1)] == [2]
    assert not [n for n in await names(client) if n.startswith(("leads_", "conversations_"))]
    for kind in ("leads", "conversations"):
        assert_items(await read(client, kind), written[kind])  # the stray record had no account: not kept
    assert await store.count(account_id=ACCOUNTS[0]) == 0  # the store reads per-account collections only

    await versioned.up(steps, ledger)
    await assert_per_account(store, written)
    assert await ledger.read() == 2


async def test_a_fresh_store_migrates_to_no_collection_at_all(store: VectorStore) -> None:
    steps, ledger = migrations(store), VectorLedger(store)
    await versioned.up(steps, ledger)
    assert set(await names(await store.client())) == {"switchboard_migrations"}
    await versioned.down(steps, ledger, to=1)
    assert {"leads", "conversations"} <= set(await names(await store.client()))
