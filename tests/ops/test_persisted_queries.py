"""Automatic persisted queries (Apollo's protocol) and trusted documents, over real HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from graphql import GraphQLSchema

from ops.documents import Documents, sha256_hex
from ops.settings import Settings
from tests.servers import ROOT, AppServer, start_app

FIXTURES = ROOT / "tests" / "fixtures" / "documents"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def apq(sha: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


def post(app: AppServer, token: str | None, accept: str = "application/json", **body: Any) -> httpx.Response:
    headers = {"accept": accept, **({"authorization": f"Bearer {token}"} if token else {})}
    return httpx.post(app.graphql, json=body, headers=headers, timeout=30)


def get(app: AppServer, token: str, **params: Any) -> httpx.Response:
    """As Apollo's APQ link sends a hashed query: `extensions` as URL-encoded JSON, Accept */*."""
    encoded = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    return httpx.get(app.graphql, params=encoded, headers={"authorization": f"Bearer {token}", "accept": "*/*"},
                     timeout=30)


def code(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def fresh(body: str) -> str:
    """A document no earlier run has registered (Redis outlives a test session)."""
    return f"query Apq{uuid.uuid4().hex} {body}"


def test_apq_registers_then_runs_by_hash_over_post_and_get(app_server: AppServer, owner_token: str) -> None:
    query = fresh("{ account { name } }")
    sha = sha256_hex(query)
    for accept in ("application/json", GRAPHQL_RESPONSE):  # 200 either way: APQ links resend on it
        first = post(app_server, owner_token, accept, extensions=apq(sha))
        assert first.status_code == 200, first.text
        error = first.json()["errors"][0]
        assert error["message"] == "PersistedQueryNotFound"
        assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = post(app_server, owner_token, query=query, extensions=apq(sha))
    assert registered.status_code == 200 and registered.json()["data"]["account"]["name"], registered.text
    by_post = post(app_server, owner_token, extensions=apq(sha))
    by_get = get(app_server, owner_token, extensions=apq(sha))
    assert by_post.json()["data"] == by_get.json()["data"] == registered.json()["data"]


def test_a_hash_that_does_not_match_the_query_is_refused(app_server: AppServer, owner_token: str) -> None:
    query = fresh("{ account { name } }")
    refused = post(app_server, owner_token, query=query, extensions=apq(sha256_hex(query + " ")))
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == "provided sha does not match query"
    assert code(refused) == "BAD_USER_INPUT"
    assert code(post(app_server, owner_token, extensions=apq(sha256_hex(query)))) == "PERSISTED_QUERY_NOT_FOUND"


def test_a_mutation_by_hash_runs_over_post_only(app_server: AppServer, owner_token: str) -> None:
    mutation = f'mutation Apq{uuid.uuid4().hex} {{ refreshSession(refreshToken: "no such token") {{ __typename }} }}'
    sha = sha256_hex(mutation)
    assert post(app_server, owner_token, query=mutation, extensions=apq(sha)).json()["data"]["refreshSession"]
    over_get = get(app_server, owner_token, extensions=apq(sha))
    assert over_get.status_code in (400, 405) and "mutations are not allowed" in over_get.text
    assert post(app_server, owner_token, extensions=apq(sha)).json()["data"]["refreshSession"]


def test_an_anonymous_caller_does_not_register(app_server: AppServer, owner_token: str) -> None:
    query = fresh("{ __typename }")
    sha = sha256_hex(query)
    assert post(app_server, None, query=query, extensions=apq(sha)).json()["data"] == {"__typename": "Query"}
    assert code(post(app_server, owner_token, extensions=apq(sha))) == "PERSISTED_QUERY_NOT_FOUND"


async def connect(app: AppServer, token: str) -> Any:
    ws = await websockets.connect(app.ws, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    return ws


async def over_socket(app: AppServer, token: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The first answer to one `subscribe`: `next` with a result, or `error`."""
    ws = await connect(app, token)
    try:
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        return json.loads(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[no-any-return]
    finally:
        await ws.close()


async def test_hash_only_over_websocket(app_server: AppServer, owner_token: str) -> None:
    query = fresh("{ me { role } }")
    sha = sha256_hex(query)
    missing = await over_socket(app_server, owner_token, {"extensions": apq(sha)})
    assert missing["type"] == "error" and missing["payload"][0]["message"] == "PersistedQueryNotFound"
    post(app_server, owner_token, query=query, extensions=apq(sha))
    found = await over_socket(app_server, owner_token, {"extensions": apq(sha)})
    assert found["type"] == "next" and found["payload"]["data"] == {"me": {"role": "OWNER"}}


# Trusted documents: a manifest written by `switchboard documents add`, and an app that runs nothing else.


@dataclass
class Manifest:
    path: Path
    output: str

    @property
    def entries(self) -> dict[str, str]:
        return json.loads(self.path.read_text())  # type: ignore[no-any-return]

    def sha(self, operation: str) -> str:
        return next(sha for sha, text in self.entries.items() if f"query {operation} " in text)


def documents_add(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops.cli", "documents", "add", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    path = tmp_path_factory.mktemp("trusted") / "manifest.json"
    result = documents_add(FIXTURES / "trusted.graphql", "--manifest", path)
    assert result.returncode == 0, result.stderr
    return Manifest(path, result.stdout)


@pytest.fixture(scope="module")
def trusted(manifest: Manifest, store_env: dict[str, str], data_root: Path, app_server: AppServer
            ) -> Iterator[AppServer]:
    env = {**store_env, "SEED_DEMO": "0", "TRUSTED_DOCUMENTS_ONLY": "true", "TRUSTED_DOCUMENTS": str(manifest.path)}
    server = start_app(env, data_root / "trusted.log")
    yield server
    server.stop()


def test_documents_add_writes_one_entry_per_operation(manifest: Manifest) -> None:
    entries = manifest.entries
    assert len(entries) == 2 and all(sha == sha256_hex(text) for sha, text in entries.items())
    account = entries[manifest.sha("TrustedAccount")]
    assert "fragment AccountName on Account" in account and "TrustedMe" not in account
    assert f"{manifest.sha('TrustedAccount')}  TrustedAccount" in manifest.output
    assert f"{manifest.sha('TrustedMe')}  TrustedMe" in manifest.output


def test_documents_add_refuses_a_bad_file_and_keeps_the_manifest(manifest: Manifest, tmp_path: Path) -> None:
    copy = tmp_path / "manifest.json"
    copy.write_bytes(manifest.path.read_bytes())
    result = documents_add(FIXTURES / "trusted.graphql", FIXTURES / "syntax_error.graphql",
                           FIXTURES / "invalid.graphql", "--manifest", copy)
    assert result.returncode == 2
    assert "syntax_error.graphql: syntax error" in result.stderr
    assert "invalid.graphql: invalid against the schema" in result.stderr and "noSuchField" in result.stderr
    assert copy.read_bytes() == manifest.path.read_bytes()


def test_trusted_only_runs_listed_documents_by_text_or_hash(
    trusted: AppServer, manifest: Manifest, owner_token: str
) -> None:
    sha = manifest.sha("TrustedAccount")
    by_text = post(trusted, owner_token, query=manifest.entries[sha])
    assert by_text.status_code == 200 and by_text.json()["data"]["account"]["name"], by_text.text
    assert post(trusted, owner_token, extensions=apq(sha)).json()["data"] == by_text.json()["data"]
    assert get(trusted, owner_token, extensions=apq(sha)).json()["data"] == by_text.json()["data"]


def test_trusted_only_refuses_any_other_document(trusted: AppServer, owner_token: str) -> None:
    other = fresh("{ account { name } }")
    for body in ({"query": other}, {"extensions": apq(sha256_hex(other))},
                 {"query": other, "extensions": apq(sha256_hex(other))}):  # the last would register it
        refused = post(trusted, owner_token, GRAPHQL_RESPONSE, **body)
        assert refused.status_code == 400 and "data" not in refused.json(), refused.text
        assert code(refused) == "DOCUMENT_NOT_TRUSTED" and "TRUSTED_DOCUMENTS_ONLY" in refused.text


async def test_trusted_only_over_websocket(trusted: AppServer, manifest: Manifest, owner_token: str) -> None:
    listed = await over_socket(trusted, owner_token, {"extensions": apq(manifest.sha("TrustedMe"))})
    assert listed["type"] == "next" and listed["payload"]["data"] == {"me": {"role": "OWNER"}}
    other = await over_socket(trusted, owner_token, {"query": "{ me { role } }"})
    assert other["type"] == "error" and other["payload"][0]["extensions"]["code"] == "DOCUMENT_NOT_TRUSTED"
    legacy = await websockets.connect(trusted.ws, subprotocols=["graphql-ws"])  # type: ignore[list-item]
    try:  # the older protocol is no way around the manifest
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {owner_token}"}}
        await legacy.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(legacy.recv(), 10))["type"] == "connection_ack"
        await legacy.send(json.dumps({"id": "1", "type": "start", "payload": {"query": "{ me { role } }"}}))
        refused = json.loads(await asyncio.wait_for(legacy.recv(), 10))
        assert refused["type"] == "error" and refused["payload"]["extensions"]["code"] == "DOCUMENT_NOT_TRUSTED"
    finally:
        await legacy.close()


def test_trusted_only_without_a_manifest_refuses_to_start(tmp_path: Path) -> None:
    schema = GraphQLSchema()
    for env in ({"TRUSTED_DOCUMENTS_ONLY": "true"},
                {"TRUSTED_DOCUMENTS_ONLY": "true", "TRUSTED_DOCUMENTS": str(tmp_path / "missing.json")}):
        with pytest.raises(ValueError, match="TRUSTED_DOCUMENTS"):
            Documents.from_settings(Settings.model_validate(env), schema)
    (tmp_path / "forged.json").write_text(json.dumps({sha256_hex("{ a }"): "{ b }"}))
    with pytest.raises(ValueError, match="not the sha256 of its document"):
        Documents.from_settings(Settings.model_validate({"TRUSTED_DOCUMENTS": str(tmp_path / "forged.json")}), schema)
