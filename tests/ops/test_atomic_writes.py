"""A change that one store refuses is undone in the others: no store keeps half of it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from ops.embedded.chroma import start_chroma
from ops.embedded.process import ChildServer
from ops.embedded.redis import start_redis
from resolvers.ids import decode
from tests.client import sign_in
from tests.servers import ROOT, AppServer, postgres_database, start_app

CREATE = """mutation($input: CreateLeadInput!) { createLead(input: $input) { __typename
  ... on LeadPayload { lead { id } } ... on StoreUnavailableError { store message } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateLeadInput!) { updateLead(id: $id, input: $input) { __typename
  ... on LeadPayload { lead { id company { name } } } ... on StoreUnavailableError { store message } } }"""
DATABASE = "switchboard_atomic"


class Stack:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.graph: ChildServer = start_redis(tmp / "graph", persist=False)
        self.chroma: ChildServer = start_chroma(tmp / "chroma")
        self.chroma_port = int(self.chroma.url.rsplit(":", 1)[1].rstrip("/"))
        # the graph server's Redis too: this app's archive outbox must not be shared with the suite's app
        self.env = {**env, "NEO4J_URI": self.graph.extra["graph_url"], "REDIS_URL": self.graph.url,
                    "CHROMA_URL": self.chroma.url, "ARCHIVE_RETRY_AFTER": "1",
                    "MONGODB_DATABASE": DATABASE, "SEED_DEMO": "0"}
        self.app: AppServer | None = None
        self.token = ""

    def restart_chroma(self) -> None:
        self.chroma = start_chroma(self.tmp / "chroma", port=self.chroma_port)

    def stop(self) -> None:
        if self.app:
            self.app.stop()
        self.chroma.stop()
        self.graph.stop()


@pytest.fixture
def stack(tmp_path: Path, store_env: dict[str, str], postgres_admin: str) -> Iterator[Stack]:
    """A fresh app over its own graph server and Chroma server, which a test can stop."""
    tmp = tmp_path
    with postgres_database(postgres_admin) as pg:
        s = Stack(tmp, {**store_env, "POSTGRES_URL": pg, "SWITCHBOARD_DATA_DIR": str(tmp / "app")})
        s.app = start_app(s.env, tmp / "app.log")
        s.token = owner_token_of(s)
        yield s
        s.stop()


def owner_token_of(stack: Stack) -> str:
    """A fresh database has no users: make an account with `switchboard create-account` and sign its owner in."""
    assert stack.app is not None
    email = f"owner-{uuid.uuid4().hex[:8]}@atomic.example"
    made = subprocess.run(
        [sys.executable, "-m", "ops.cli", "create-account", "Atomic Writes", "--owner-email", email],
        env={**os.environ, **stack.env}, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )
    password = next(line.split(": ", 1)[1] for line in made.stdout.splitlines() if line.startswith("password"))
    return sign_in(stack.app.graphql, email, password)["accessToken"]


def gql(stack: Stack, query: str, **variables: object) -> dict:
    assert stack.app is not None
    response = httpx.post(stack.app.graphql, json={"query": query, "variables": variables}, timeout=60,
                          headers={"authorization": f"Bearer {stack.token}"})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def mongo_leads(mongo_url: str, phone: str) -> list[dict]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    with client:
        return list(client[DATABASE].leads.find({"phone": phone}))


def chroma_ids(stack: Stack, collection: str = "leads") -> set[str]:
    import chromadb
    from chromadb.config import Settings

    # chromadb's sync client never closes its httpx pool: keep no idle connection in it to leak
    settings = Settings(anonymized_telemetry=False, chroma_http_max_keepalive_connections=0)
    client = chromadb.HttpClient(host="127.0.0.1", port=stack.chroma_port, settings=settings)
    return set(client.get_or_create_collection(collection).get()["ids"])


def graph_ids(stack: Stack) -> set[str]:
    import redis

    with redis.Redis.from_url(stack.graph.url) as client:
        result = client.execute_command("GRAPH.QUERY", "switchboard_test", "MATCH (l:Lead) RETURN l.id")
    return {row[0].decode() for row in result[1]}


def test_graph_down_undoes_mongodb_and_chroma(stack: Stack, mongo_url: str) -> None:
    ok = gql(stack, CREATE, input={"firstName": "Kept", "phone": "+14155550301", "company": {"name": "Before"}})
    assert ok["createLead"]["__typename"] == "LeadPayload"
    lead_id_raw = mongo_leads(mongo_url, "+14155550301")[0]["_id"]
    chroma_before = chroma_ids(stack)
    assert str(lead_id_raw) in chroma_before and str(lead_id_raw) in graph_ids(stack)

    stack.graph.stop()
    failed = gql(stack, CREATE, input={"firstName": "Lost", "phone": "+14155550302"})
    assert failed["createLead"]["__typename"] == "StoreUnavailableError"
    assert failed["createLead"]["store"] == "neo4j"
    assert mongo_leads(mongo_url, "+14155550302") == []
    assert chroma_ids(stack) == chroma_before

    changed = gql(stack, UPDATE, id=ok["createLead"]["lead"]["id"], input={"company": {"name": "After"}})
    assert changed["updateLead"]["__typename"] == "StoreUnavailableError"
    [doc] = mongo_leads(mongo_url, "+14155550301")
    assert doc["company"]["name"] == "Before"


def test_chroma_down_undoes_mongodb_and_writes_no_graph(stack: Stack, mongo_url: str) -> None:
    graph_before = graph_ids(stack)
    stack.chroma.stop()
    failed = gql(stack, CREATE, input={"firstName": "Nowhere", "phone": "+14155550303"})
    assert failed["createLead"]["__typename"] == "StoreUnavailableError"
    assert failed["createLead"]["store"] == "chroma"
    assert mongo_leads(mongo_url, "+14155550303") == []
    assert graph_ids(stack) == graph_before

    stack.restart_chroma()
    recovered = gql(stack, CREATE, input={"firstName": "Back", "phone": "+14155550303"})
    assert recovered["createLead"]["__typename"] == "LeadPayload"
    assert len(mongo_leads(mongo_url, "+14155550303")) == 1


def conversations(stack: Stack) -> set[str]:
    return chroma_ids(stack, "conversations")


def call_logs(mongo_url: str, call_id: str) -> list[dict]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    with client:
        return list(client[DATABASE].call_logs.find({"call_id": call_id}))


def test_a_call_ending_while_chroma_is_down_is_archived_once_it_is_back(stack: Stack, mongo_url: str) -> None:
    from tests.schema.test_calls import START, daytime_zone

    made = gql(stack, CREATE, input={"firstName": "Busy", "phone": "+14155550407", "consent": {"call": True},
                                     "timezone": daytime_zone()})
    lead_id = made["createLead"]["lead"]["id"]
    stack.chroma.stop()
    started = gql(stack, START, id=lead_id)["startCall"]
    assert started["__typename"] == "CallPayload", started
    call_id = decode(started["call"]["id"])[1]

    deadline = time.monotonic() + 20
    while not call_logs(mongo_url, call_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    [log] = call_logs(mongo_url, call_id)
    assert log["state"] == "busy"

    time.sleep(1.5)  # past ARCHIVE_RETRY_AFTER: at least one retry fails while Chroma is down
    stack.restart_chroma()
    deadline = time.monotonic() + 20
    while call_id not in conversations(stack) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert call_id in conversations(stack)
    lead = gql(stack, "query($id: ID!) { lead(id: $id) { contactAttempts calls { edges { node { id } } } } }",
               id=lead_id)["lead"]
    assert lead["contactAttempts"] == 1 and len(lead["calls"]["edges"]) == 1
