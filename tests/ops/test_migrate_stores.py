"""`switchboard migrate up|down|status` on real servers: every store up, then down to nothing, then up again.

Fresh PostgreSQL and MongoDB databases, a graph of its own on the FalkorDB server, and an embedded Chroma in
a folder of its own: nothing the suite's app uses. Each step's effect is read back from the store itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from pymongo import MongoClient
from pymongo.errors import WriteError

from ops.embedded.process import ChildServer
from tests.servers import ROOT, postgres_database


@pytest.fixture
def env(tmp_path: Path, mongo_url: str, falkordb: ChildServer, postgres_admin: str) -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:8]
    with postgres_database(postgres_admin) as pg:
        yield {
            "POSTGRES_URL": pg, "MONGODB_URI": mongo_url, "MONGODB_DATABASE": f"migrate_{tag}",
            "NEO4J_URI": falkordb.extra["graph_url"], "NEO4J_DATABASE": f"migrate_{tag}", "REDIS_URL": falkordb.url,
            "CHROMA_URL": "", "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
        }


def migrate(env: dict[str, str], *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-m", "ops.cli", "migrate", *args], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def status(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    """store -> (applied, pending)"""
    found = {}
    for line in migrate(env, "status"):
        store, _, applied, _, _, _, pending = line.split(maxsplit=6)
        found[store] = (applied, pending)
    return found


def mongo_state(env: dict[str, str]) -> tuple[set[str], bool]:
    """The leads collection's index names, and whether a lead without a tenant is refused."""
    client: MongoClient[dict[str, Any]] = MongoClient(env["MONGODB_URI"])
    with client:
        db = client[env["MONGODB_DATABASE"]]
        names = {i["name"] for i in db.leads.list_indexes()} if "leads" in db.list_collection_names() else set()
        try:
            db.leads.insert_one({"first_name": "No tenant", "phone": "+14155550000"})
        except WriteError:
            return names, True
        db.leads.delete_many({"first_name": "No tenant"})
        return names, False


def graph_state(env: dict[str, str]) -> tuple[set[tuple[str, str]], int]:
    """(label, property) indexes, and unique constraints, of this test's graph."""
    url = env["REDIS_URL"]
    graph = env["NEO4J_DATABASE"]
    with redis.Redis.from_url(url, decode_responses=True) as client:
        client.execute_command("GRAPH.QUERY", graph, "MERGE (:Probe {id: 1})")  # the graph must exist to list
        rows = client.execute_command("GRAPH.QUERY", graph, "CALL db.indexes() YIELD label, properties "
                                                            "RETURN label, properties")[1]
        constraints = client.execute_command("GRAPH.QUERY", graph, "CALL db.constraints()")[1]
    # over plain RESP a property list arrives as text: "[id, account_id]"
    return {(label, prop) for label, props in rows for prop in props.strip("[]").split(", ") if prop}, len(constraints)


def duplicate_lead_refused(env: dict[str, str]) -> bool:
    with redis.Redis.from_url(env["REDIS_URL"], decode_responses=True) as client:
        graph = env["NEO4J_DATABASE"]
        client.execute_command("GRAPH.QUERY", graph, "MATCH (l:Lead {id: 'dup'}) DELETE l")
        client.execute_command("GRAPH.QUERY", graph, "CREATE (:Lead {account_id: 1, id: 'dup'})")
        try:
            client.execute_command("GRAPH.QUERY", graph, "CREATE (:Lead {account_id: 1, id: 'dup'})")
        except redis.ResponseError:
            refused = True
        else:
            refused = False
        client.execute_command("GRAPH.QUERY", graph, "MATCH (l:Lead {id: 'dup'}) DELETE l")
        return refused


def chroma_collections(env: dict[str, str]) -> set[str]:
    import chromadb

    path = Path(env["SWITCHBOARD_DATA_DIR"]) / "chroma"
    client = chromadb.PersistentClient(path=str(path))
    return {str(getattr(c, "name", c)) for c in client.list_collections()}


def test_every_store_goes_up_down_and_up_again(env: dict[str, str]) -> None:
    before = status(env)
    assert before["postgresql"][0] == "none" and all(before[s][0] == "0" for s in ("mongodb", "neo4j", "chroma"))
    assert all(pending != "none" for _, pending in before.values())

    applied = migrate(env, "up")
    assert any(line.startswith("mongodb 2 ") for line in applied), applied
    assert all(pending == "none" for _, pending in status(env).values())
    assert migrate(env, "up")[0].startswith("nothing to apply")  # up twice changes nothing

    indexes, validated = mongo_state(env)
    assert {"uniq_account_phone", "account_created"} <= indexes and validated
    graph_indexes, constraints = graph_state(env)
    assert {("Lead", "id"), ("Lead", "account_id"), ("Company", "name")} <= graph_indexes and constraints == 4
    assert duplicate_lead_refused(env)
    # Chroma at version 2: no shared collection, and none per account until an account writes
    assert chroma_collections(env) == {"switchboard_migrations"}

    for store, to in (("chroma", "0"), ("neo4j", "0"), ("mongodb", "0"), ("postgresql", "base")):
        migrate(env, "down", "--store", store, "--to", to)
    after_down = status(env)
    assert after_down["postgresql"][0] == "none"
    assert all(after_down[s][0] == "0" for s in ("mongodb", "neo4j", "chroma"))
    indexes, _ = mongo_state(env)
    assert "uniq_account_phone" not in indexes
    graph_indexes, constraints = graph_state(env)
    assert ("Lead", "id") not in graph_indexes and constraints == 0
    assert not duplicate_lead_refused(env)
    assert not {"leads", "conversations"} & chroma_collections(env)

    migrate(env, "up")
    assert all(pending == "none" for _, pending in status(env).values())
    indexes, _ = mongo_state(env)
    assert "uniq_account_phone" in indexes
    assert graph_state(env)[1] == 4 and duplicate_lead_refused(env)
    assert chroma_collections(env) == {"switchboard_migrations"}


def test_bad_arguments_are_refused_with_a_reason(env: dict[str, str]) -> None:
    for args, reason in ((["sideways"], "action"), (["down", "--store", "mongodb"], "--to"),
                         (["status", "--store", "oracle"], "--store")):
        done = subprocess.run([sys.executable, "-m", "ops.cli", "migrate", *args], env={**os.environ, **env},
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and reason in done.stderr, (args, done.stderr)
