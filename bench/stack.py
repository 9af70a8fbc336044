"""Stores for the benchmarks, started once, and app processes over them (replicas sharing the stores)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops.embedded import start_embedded  # noqa: E402
from ops.embedded.chroma import start_chroma  # noqa: E402
from ops.settings import Settings  # noqa: E402
from tests.client import sign_in  # noqa: E402
from tests.servers import TEST_JWT_SECRET, AppServer, demo_user, read_demo_users, start_app  # noqa: E402

DATA = ROOT / ".bench"


@contextmanager
def stores(fresh: bool = False) -> Iterator[dict[str, str]]:
    """Environment for apps over embedded stores under .bench/ (kept between runs unless `fresh`)."""
    if fresh and DATA.exists():
        shutil.rmtree(DATA)
    DATA.mkdir(exist_ok=True)
    with ExitStack() as stack:
        embedded = start_embedded(Settings(SWITCHBOARD_DATA_DIR=DATA / "stores"))  # type: ignore[call-arg]
        stack.callback(embedded.stop)
        chroma = start_chroma(DATA / "chroma")
        stack.callback(chroma.stop)
        urls = embedded.urls
        yield {
            "POSTGRES_URL": urls.postgres, "MONGODB_URI": urls.mongodb, "NEO4J_URI": urls.graph,
            "REDIS_URL": urls.redis, "CHROMA_URL": chroma.url, "SWITCHBOARD_DATA_DIR": str(DATA / "app"),
            "SEED_DEMO": "1", "DEMO_LEADS": "300", "JWT_SECRET": TEST_JWT_SECRET,
        }


@contextmanager
def app(env: dict[str, str], name: str, **overrides: str) -> Iterator[AppServer]:
    with served(env, name, ROOT, overrides) as server:
        yield server


@contextmanager
def served(env: dict[str, str], name: str, root: Path, overrides: dict[str, str]) -> Iterator[AppServer]:
    """An app over the bench stores serving the code of the checkout at `root` (a comparison serves another)."""
    server = start_app({**env, **overrides}, DATA / f"{name}.log", timeout=300, root=root)
    try:
        yield server
    finally:
        server.stop()


def owner_token(server: AppServer) -> str:
    """An access token of the main demo account's owner (the demo users are written on the first start)."""
    owner = demo_user(read_demo_users(DATA / "app"), "acme", "owner")
    return str(sign_in(server.graphql, owner["email"], owner["password"])["accessToken"])


def signed_in(server: AppServer) -> dict[str, str]:
    return {"authorization": f"Bearer {owner_token(server)}"}
