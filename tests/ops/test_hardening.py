"""HTTP and WebSocket hardening, over real connections to an app with small caps of its own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.servers import AppServer, start_app

ORIGIN = "https://app.example.com"


@pytest.fixture(scope="module")
def small(store_env: dict[str, str], data_root: Path, app_server: AppServer) -> Iterator[AppServer]:
    env = {**store_env, "SEED_DEMO": "0", "CORS_ORIGIN": ORIGIN, "MAX_BODY_BYTES": "4096",
           "MAX_VARIABLES_BYTES": "512", "WS_MAX_MESSAGE_BYTES": "2048", "WS_INIT_TIMEOUT": "1s",
           "WS_MAX_SUBSCRIPTIONS": "2", "WS_MAX_CONNECTIONS": "2"}
    server = start_app(env, data_root / "hardened.log")
    yield server
    server.stop()


def test_security_headers_on_every_response(small: AppServer) -> None:
    for response in (httpx.get(f"{small.url}/health/live"), httpx.post(small.graphql, json={"query": "{ x }"})):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in response.headers  # production only


def test_a_body_over_the_cap_is_413_declared_or_streamed(small: AppServer, auth_headers: dict[str, str]) -> None:
    big = {"query": "{ me { role } }", "variables": {"pad": "x" * 5000}}
    declared = httpx.post(small.graphql, json=big, headers=auth_headers)
    assert declared.status_code == 413 and "MAX_BODY_BYTES" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:
        body = json.dumps(big).encode()
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    streamed = httpx.post(small.graphql, content=chunks(), headers={**auth_headers, "content-type": "application/json"})
    assert streamed.status_code == 413
    assert httpx.post(small.graphql, json={"query": "{ me { role } }"}, headers=auth_headers).status_code == 200


def test_a_refused_body_still_carries_the_edge_headers(small: AppServer) -> None:
    refused = httpx.post(small.graphql, content=b"x" * 5000, headers={"x-request-id": "big-one"})
    assert refused.status_code == 413
    assert refused.headers["x-request-id"] == "big-one" and refused.headers["x-content-type-options"] == "nosniff"


def test_cors_answers_the_allowed_origin_only(small: AppServer, auth_headers: dict[str, str]) -> None:
    preflight = {"access-control-request-method": "POST", "access-control-request-headers": "authorization"}
    allowed = httpx.options(small.graphql, headers={"origin": ORIGIN, **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ORIGIN
    assert allowed.headers["x-frame-options"] == "DENY" and allowed.headers["x-request-id"]
    other = httpx.options(small.graphql, headers={"origin": "https://evil.example", **preflight})
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers

    simple = httpx.post(small.graphql, json={"query": "{ me { role } }"}, headers={**auth_headers, "origin": ORIGIN})
    assert simple.status_code == 200 and simple.json()["data"]["me"]["role"]
    assert simple.headers["access-control-allow-origin"] == ORIGIN and simple.headers["referrer-policy"]
    plain = httpx.post(small.graphql, json={"query": "{ me { role } }"}, headers=auth_headers)
    assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers


def test_variables_over_their_cap_are_refused(small: AppServer, auth_headers: dict[str, str]) -> None:
    body = {"query": "query($t: String) { leads(first: 1, filter: {text: $t}) { edges { cursor } } }",
            "variables": {"t": "y" * 1000}}
    answer = httpx.post(small.graphql, json=body, headers=auth_headers).json()
    assert answer["errors"][0]["extensions"]["code"] == "VARIABLES_TOO_LARGE"
    assert "MAX_VARIABLES_BYTES" in answer["errors"][0]["message"]


def test_get_runs_queries_only(small: AppServer, auth_headers: dict[str, str]) -> None:
    query = httpx.get(small.graphql, params={"query": "{ me { role } }"}, headers=auth_headers)
    assert query.status_code == 200 and query.json()["data"]["me"]["role"] == "OWNER"
    mutation = httpx.get(small.graphql, params={"query": "mutation { signOut { __typename } }"}, headers=auth_headers)
    assert mutation.status_code in (400, 405)


async def connect(app: AppServer, token: str | None, origin: str | None = None) -> Any:
    headers = {"origin": origin} if origin else {}
    ws = await websockets.connect(app.ws, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                  additional_headers=headers)
    if token is not None:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    return ws


async def test_websocket_origins_follow_the_allow_list(small: AppServer, owner_token: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        await connect(small, owner_token, origin="https://evil.example")
    assert refused.value.response.status_code == 403
    allowed = await connect(small, owner_token, origin=ORIGIN)
    await allowed.close()


async def test_a_socket_must_say_connection_init_in_time(small: AppServer) -> None:
    ws = await connect(small, None)
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 4408


async def test_a_message_over_the_cap_closes_the_socket(small: AppServer, owner_token: str) -> None:
    ws = await connect(small, owner_token)
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "{ me { role } }" + " " * 3000}}))
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1009


async def test_sockets_and_subscriptions_are_capped(small: AppServer, owner_token: str) -> None:
    first, second = await connect(small, owner_token), await connect(small, owner_token)
    third = await websockets.connect(small.ws, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await third.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {owner_token}"}}))
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(third.recv(), 5)
    assert third.close_code == 4429
    for i in range(3):
        await first.send(json.dumps({"id": str(i), "type": "subscribe",
                                     "payload": {"query": "subscription { liveCalls { cursor } }"}}))
    refused = json.loads(await asyncio.wait_for(first.recv(), 5))
    assert refused["type"] == "error" and refused["id"] == "2" and "limit" in json.dumps(refused["payload"])
    await second.close()
    again = await connect(small, owner_token)  # a closed socket gives its place back
    await again.close()
    await first.close()
