from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from datasources.vectors import MiniLMEmbedder, VectorStore, open_vectors
from ops.embedded.chroma import start_chroma


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    embedder = MiniLMEmbedder()
    embedder.load()
    return embedder


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if url := os.environ.get("TEST_CHROMA_URL"):
        yield url
        return
    server = start_chroma(tmp_path_factory.mktemp("chroma-server"))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session", params=["persistent", "http"])
async def vectors(
    request: pytest.FixtureRequest, embedder: MiniLMEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[VectorStore]:
    url = "" if request.param == "persistent" else request.getfixturevalue("chroma_url")
    path: Path = tmp_path_factory.mktemp("chroma-embedded")
    store = open_vectors(url, path=path, embedder=embedder)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def account_id() -> int:
    # each test gets its own tenant, so tests share one store (and a TEST_CHROMA_URL server) without interfering
    return secrets.randbelow(2**31 - 1) + 1
