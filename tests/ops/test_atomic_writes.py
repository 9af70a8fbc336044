"""MongoDB is the record: a lead write stands once MongoDB has it, and Chroma and the graph converge to it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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
  ... on LeadPayload { lead { id syncState indexedAt graphSyncedAt } }
  ... on StoreUnavailableError { store message } } }"""
UPDATE = """mutation($id: ID!, $input: UpdateLeadInput!) { updateLead(id: $id, input: $input) { __typename
  ... on LeadPayload { lead { id company { name } syncState indexedAt graphSyncedAt } }
  ... on StoreUnavailableError { store message } } }"""
READ = "query($id: ID!) { lead(id: $id) { id company { name } syncState indexedAt graphSyncedAt } }"
DATABASE = "switchboard_atomic"


class Stack:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.graph: ChildServer = start_redis(tmp / "graph", persist=False)
        self.chroma: ChildServer = start_chroma(tmp / "chroma")
        self.graph_port = int(self.graph.url.rsplit(":", 1)[1].split("/")[0])
        self.chroma_port = int(self.chroma.url.rsplit(":", 1)[1].rstrip("/"))
        # the graph server's Redis too: this app's archive outbox must not be shared with the suite's app
        self.env = {**env, "NEO4J_URI": self.graph.extra["graph_url"], "REDIS_URL": self.graph.url,
                    "CHROMA_URL": self.chroma.url, "ARCHIVE_RETRY_AFTER": "1",
                    "MONGODB_DATABASE": DATABASE, "SEED_DEMO": "0"}
        self.app: AppServer | None = None
        self.token = ""

    def restart_graph(self) -> None:
        self.graph = start_redis(self.tmp / "graph", persist=False, port=self.graph_port)

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
        try:  # servers started before an app that fails to start are stopped too
            s.app = start_app(s.env, tmp / "app.log")
            s.token = owner_token_of(s)
            yield s
        finally:
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


def chroma_collections(stack: Stack, kind: str) -> list[Any]:
    """Every account's collection of this kind (`leads_<account>`, `conversations_<account>`)."""
    import chromadb
    from chromadb.config import Settings

    # chromadb's sync client never closes its httpx pool: keep no idle connection in it to leak
    settings = Settings(anonymized_telemetry=False, chroma_http_max_keepalive_connections=0)
    client = chromadb.HttpClient(host="127.0.0.1", port=stack.chroma_port, settings=settings)
    return [c for c in client.list_collections() if c.name.startswith(f"{kind}_")]


def chroma_ids(stack: Stack, kind: str = "leads") -> set[str]:
    return {i for collection in chroma_collections(stack, kind) for i in collection.get(include=[])["ids"]}


def graph_ids(stack: Stack) -> set[str]:
    import redis

    with redis.Redis.from_url(stack.graph.url) as client:
        result = client.execute_command("GRAPH.QUERY", "switchboard_test", "MATCH (l:Lead) RETURN l.id")
    return {row[0].decode() for row in result[1]}


def lead_state(stack: Stack, lead_id: str) -> dict:
    return gql(stack, READ, id=lead_id)["lead"]


def wait_synced(stack: Stack, lead_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while (lead := lead_state(stack, lead_id))["syncState"] != "SYNCED" and time.monotonic() < deadline:
        time.sleep(0.3)
    return lead


def graph_company(stack: Stack, lead_id: str) -> str | None:
    import redis

    query = "MATCH (l:Lead {id: $id})-[]->(c:Company) RETURN c.name"
    with redis.Redis.from_url(stack.graph.url) as client:
        result = client.execute_command("GRAPH.QUERY", "switchboard_test", f"CYPHER id='{lead_id}' {query}")
    names = [row[0].decode() for row in result[1]]
    return names[0] if names else None


def chroma_document(stack: Stack, lead_id: str) -> str | None:
    for collection in chroma_collections(stack, "leads"):
        if docs := collection.get(ids=[lead_id], include=["documents"])["documents"]:
            return str(docs[0])
    return None


def test_graph_down_accepts_writes_that_converge_once_it_is_back(stack: Stack, mongo_url: str) -> None:
    ok = gql(stack, CREATE, input={"firstName": "Kept", "phone": "+14155550301", "company": {"name": "Before"}})
    assert ok["createLead"]["__typename"] == "LeadPayload"
    assert ok["createLead"]["lead"]["syncState"] == "SYNCED"
    kept = ok["createLead"]["lead"]["id"]
    kept_raw = str(mongo_leads(mongo_url, "+14155550301")[0]["_id"])
    assert kept_raw in chroma_ids(stack) and kept_raw in graph_ids(stack)

    stack.graph.stop()
    made = gql(stack, CREATE, input={"firstName": "Accepted", "phone": "+14155550302"})["createLead"]
    assert made["__typename"] == "LeadPayload", made
    assert made["lead"]["syncState"] == "PENDING" and made["lead"]["graphSyncedAt"] is None
    [doc] = mongo_leads(mongo_url, "+14155550302")
    assert doc["projection"]["pending"] is True
    changed = gql(stack, UPDATE, id=kept, input={"company": {"name": "After"}})["updateLead"]
    assert changed["__typename"] == "LeadPayload", changed
    assert changed["lead"]["company"]["name"] == "After" and changed["lead"]["syncState"] == "PENDING"
    [doc] = mongo_leads(mongo_url, "+14155550301")
    assert doc["company"]["name"] == "After"
    assert stack.app is not None
    answer = httpx.post(stack.app.graphql, headers={"authorization": f"Bearer {stack.token}"}, timeout=60, json={
        "query": "query($id: ID!) { lead(id: $id) { id colleagues { id } } }", "variables": {"id": kept}}).json()
    assert answer["errors"]  # the graph itself is down: its field fails
    assert answer["extensions"]["projections"]["lagging"] == [{"lead": kept, "fields": ["colleagues"]}]

    stack.restart_graph()
    assert wait_synced(stack, made["lead"]["id"])["syncState"] == "SYNCED"
    lead = wait_synced(stack, kept)
    assert lead["syncState"] == "SYNCED" and lead["graphSyncedAt"] is not None
    assert str(doc["_id"]) in chroma_ids(stack)
    assert {kept_raw, str(mongo_leads(mongo_url, "+14155550302")[0]["_id"])} <= graph_ids(stack)
    assert graph_company(stack, kept_raw) == "After"
    assert "After" in (chroma_document(stack, kept_raw) or "")


def test_chroma_down_accepts_creates_that_converge_once_it_is_back(stack: Stack, mongo_url: str) -> None:
    stack.chroma.stop()
    made = gql(stack, CREATE, input={"firstName": "Nowhere", "phone": "+14155550303",
                                     "company": {"name": "Patience"}})["createLead"]
    assert made["__typename"] == "LeadPayload", made
    assert made["lead"]["syncState"] == "PENDING" and made["lead"]["indexedAt"] is None
    [doc] = mongo_leads(mongo_url, "+14155550303")
    raw = str(doc["_id"])

    stack.restart_chroma()
    lead = wait_synced(stack, made["lead"]["id"])
    assert lead["syncState"] == "SYNCED" and lead["indexedAt"] is not None
    assert raw in chroma_ids(stack) and "Patience" in (chroma_document(stack, raw) or "")
    assert raw in graph_ids(stack)


def test_updates_in_quick_succession_end_projected_at_the_newest(stack: Stack, mongo_url: str) -> None:
    made = gql(stack, CREATE, input={"firstName": "Racy", "phone": "+14155550304", "company": {"name": "v0"}})
    lead_id = made["createLead"]["lead"]["id"]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(
            lambda n: gql(stack, UPDATE, id=lead_id, input={"company": {"name": f"v{n}"}}), range(1, 9)
        ))
    assert all(r["updateLead"]["__typename"] == "LeadPayload" for r in results)
    lead = wait_synced(stack, lead_id)
    [doc] = mongo_leads(mongo_url, "+14155550304")
    assert lead["syncState"] == "SYNCED" and doc["version"] == 9
    newest = doc["company"]["name"]
    raw = str(doc["_id"])
    assert graph_company(stack, raw) == newest
    assert newest in (chroma_document(stack, raw) or "")


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
