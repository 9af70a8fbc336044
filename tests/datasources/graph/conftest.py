"""The graph contract's backends: FalkorDB over its own protocol ("falkordb"), the neo4j driver against
FalkorDB's Bolt port ("neo4j-bolt"), and a real Neo4j ("neo4j") when TEST_NEO4J_URI is set.

TEST_FALKORDB_URL names a running FalkorDB instead of starting one; TEST_FALKORDB_BOLT_URL names its Bolt
port (without it the neo4j-bolt cases are skipped).

FalkorDB's Bolt loses track of sockets: after a Bolt client leaves (and, at random, after a write over
Bolt) the server stops serving the next connections it accepts, on any of its ports, until those clients
give up. So the Bolt backend gets a FalkorDB of its own, and one driver (one connection) for the session,
rather than a new driver per test whose handshake could be the one left hanging.
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from datasources.graph import GraphStore, open_graph
from ops.embedded.process import ChildServer
from ops.embedded.redis import kick_bolt, start_redis

BACKENDS = ["falkordb", "neo4j-bolt"] + (["neo4j"] if os.environ.get("TEST_NEO4J_URI") else [])


def start_falkordb(data_dir: Path) -> ChildServer:
    return start_redis(data_dir, persist=False, bolt=True)


@pytest.fixture(scope="session")
def falkordb_url(falkordb: ChildServer) -> str:
    """The suite's FalkorDB (tests/conftest.py), or the one TEST_FALKORDB_URL names."""
    return os.environ.get("TEST_FALKORDB_URL", "") or falkordb.extra["graph_url"]


@pytest.fixture(scope="session")
def falkordb_bolt_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    if os.environ.get("TEST_FALKORDB_URL"):
        yield os.environ.get("TEST_FALKORDB_BOLT_URL") or None
        return
    server = start_falkordb(tmp_path_factory.mktemp("graph-bolt"))
    try:
        yield server.extra["bolt_url"]
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def bolt_graph(falkordb_bolt_url: str | None) -> AsyncIterator[GraphStore | None]:
    if falkordb_bolt_url is None:
        yield None
        return
    kick_bolt(urlsplit(falkordb_bolt_url).port or 7687)
    store = open_graph(falkordb_bolt_url, database="switchboard_test")
    try:
        await store.ensure_schema()
        yield store
    finally:
        await store.close()


@pytest.fixture
def account_id() -> int:
    """Each test its own tenant, so tests share a server without seeing each other."""
    return random.randint(1, 2**40)


@pytest.fixture(params=BACKENDS)
async def graph(
    request: pytest.FixtureRequest, falkordb_url: str, bolt_graph: GraphStore | None, account_id: int
) -> AsyncIterator[GraphStore]:
    backend: str = request.param
    if backend == "neo4j-bolt":
        if bolt_graph is None:
            pytest.skip("TEST_FALKORDB_URL is set without TEST_FALKORDB_BOLT_URL")
        yield bolt_graph
        await bolt_graph.clear_account(account_id=account_id)
        return
    if backend == "falkordb":
        store = open_graph(falkordb_url, database="switchboard_test")
    else:
        store = open_graph(
            os.environ["TEST_NEO4J_URI"],
            user=os.environ.get("TEST_NEO4J_USER", ""),
            password=os.environ.get("TEST_NEO4J_PASSWORD", ""),
            database=os.environ.get("TEST_NEO4J_DATABASE", "neo4j"),
        )
    try:
        await store.ensure_schema()
        yield store
        await store.clear_account(account_id=account_id)
    finally:
        await store.close()
