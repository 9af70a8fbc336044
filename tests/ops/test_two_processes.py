"""Two server processes on one Redis: a subscriber on one receives, in order, the events of webhooks posted to
the other; it disconnects, reconnects to the other process with its last cursor, and misses nothing. Both
WebSocket protocols are exercised: graphql-transport-ws and the legacy graphql-ws."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import websockets

from datasources.redis import keys
from ops.voice import DEV_KEY_FILE
from resolvers.ids import decode
from resolvers.ids import encode as encode_id
from tests.servers import AppServer, app_client_state_key, start_app
from voice.client_state import encode
from voice.signature import load_private_key
from voice.simulator import envelope, signed_headers

SUBSCRIPTION = "subscription($id: ID!, $after: String) { callUpdates(callId: $id, after: $after) { cursor type } }"
DTMF_DIGITS = "0123456789"


@pytest.fixture(scope="module")
def second_app(app_server: AppServer, store_env: dict[str, str], data_root: Path) -> Iterator[AppServer]:
    """A replica over the same stores; it shares the data folder, so it verifies with the same dev key."""
    server = start_app({**store_env, "SEED_DEMO": "0"}, data_root / "app-b.log")
    yield server
    server.stop()


class Subscriber:
    """A raw WebSocket client speaking either protocol, so both are tested as a client sees them."""

    def __init__(self, url: str, protocol: str, token: str) -> None:
        self.url, self.protocol, self.token = url, protocol, token
        self.start, self.data = ("subscribe", "next") if protocol == "graphql-transport-ws" else ("start", "data")

    async def events(self, variables: dict[str, Any], count: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        async with websockets.connect(self.url, subprotocols=[self.protocol]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"authorization": f"Bearer {self.token}"}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": self.start,
                                      "payload": {"query": SUBSCRIPTION, "variables": variables}}))
            while len(out) < count:
                message = json.loads(await asyncio.wait_for(ws.recv(), 15))
                if message["type"] == "ka":
                    continue
                assert message["type"] == self.data, message
                out.append(message["payload"]["data"]["callUpdates"])
        return out


async def post_events(app: AppServer, key: Any, call_id: str, account_id: int, digits: str) -> None:
    state = encode(call_id=call_id, account_id=account_id, key=app_client_state_key())
    async with httpx.AsyncClient() as http:
        for digit in digits:
            body = envelope("call.dtmf.received", {
                "call_control_id": "v3:two-proc", "digit": digit,
                "client_state": state,
            })
            response = await http.post(f"{app.url}/webhooks/telnyx", content=body, headers=signed_headers(key, body))
            assert response.status_code == 200 and response.json()["status"] == "applied"


async def test_events_cross_processes_and_resume_anywhere(
    app_server: AppServer, second_app: AppServer, store_env: dict[str, str], owner_token: str,
    auth_headers: dict[str, str],
) -> None:
    key = load_private_key((Path(store_env["SWITCHBOARD_DATA_DIR"]) / DEV_KEY_FILE).read_text())
    account = httpx.post(app_server.graphql, json={"query": "{ account { id } }"},
                         headers=auth_headers).json()["data"]["account"]["id"]
    account_id = int(decode(account)[1])
    call_id = uuid.uuid4().hex
    global_id = encode_id("Call", call_id)

    # 1. subscribed to A, webhooks posted to B: all five, in order
    first = Subscriber(app_server.ws, "graphql-transport-ws", owner_token)
    listening = asyncio.create_task(first.events({"id": global_id, "after": None}, 5))
    await asyncio.sleep(0.5)
    await post_events(second_app, key, call_id, account_id, DTMF_DIGITS[:5])
    got = await listening
    assert [e["type"] for e in got] == ["call.dtmf.received"] * 5
    last_cursor = got[-1]["cursor"]

    # 2. while nobody listens, five more arrive at A
    await post_events(app_server, key, call_id, account_id, DTMF_DIGITS[5:])

    # 3. the client comes back to B (legacy protocol) with its last cursor: exactly the five it missed
    again = Subscriber(second_app.ws, "graphql-ws", owner_token)
    resumed = await again.events({"id": global_id, "after": last_cursor}, 5)
    cursors = [e["cursor"] for e in got + resumed]
    assert len(set(cursors)) == 10 and cursors == sorted(cursors, key=lambda c: tuple(map(int, c.split("-"))))
    state = httpx.post(second_app.graphql, json={"query": "query($id: ID!) { call(id: $id) { dtmf } }",
                                                 "variables": {"id": global_id}}, headers=auth_headers).json()
    assert state["data"]["call"]["dtmf"] == DTMF_DIGITS


async def test_two_replicas_send_each_agent_command_once(
    app_server: AppServer, second_app: AppServer, store_env: dict[str, str], auth_headers: dict[str, str],
) -> None:
    """Every webhook of a dialogue goes twice to each replica at once: the agent's commands (sent through each
    replica's simulated carrier, which counts them in Redis) go out once each."""
    key = load_private_key((Path(store_env["SWITCHBOARD_DATA_DIR"]) / DEV_KEY_FILE).read_text())
    account = httpx.post(app_server.graphql, json={"query": "{ account { id } }"},
                         headers=auth_headers).json()["data"]["account"]["id"]
    account_id = int(decode(account)[1])
    call_id, control_id = uuid.uuid4().hex, f"v3:replicas-{uuid.uuid4().hex}"
    state = encode(call_id=call_id, account_id=account_id, key=app_client_state_key())
    hot = {"budget": "high", "authority": "decision_maker", "need": "strong", "timeline": "this_month",
           "opt_out": False}
    dialogue: list[tuple[str, dict[str, Any]]] = [
        ("call.initiated", {"direction": "outgoing", "state": "bridging"}),
        ("call.answered", {}),
        ("call.machine.premium.detection.ended", {"result": "human_business"}),
        ("call.ai_gather.ended", {"status": "valid", "result": hot}),
        ("call.speak.ended", {"status": "completed"}),
        # the closer and the lead said goodbye: the closer is free for the next hot lead
        ("call.hangup", {"hangup_cause": "normal_clearing", "hangup_source": "callee"}),
    ]
    async with httpx.AsyncClient() as http:
        for kind, payload in dialogue:
            body = envelope(kind, {"call_control_id": control_id, "client_state": state, **payload})
            posts = [http.post(f"{app.url}/webhooks/telnyx", content=body, headers=signed_headers(key, body))
                     for app in (app_server, second_app, app_server, second_app)]
            statuses = [r.json()["status"] for r in await asyncio.gather(*posts)]
            assert sorted(statuses) == ["applied", "duplicate", "duplicate", "duplicate"], statuses
    client = redis.Redis.from_url(store_env["REDIS_URL"], decode_responses=True)
    try:
        counts: dict[str, str] = client.hgetall(keys.simulated_commands(control_id))  # type: ignore[assignment]
    finally:
        client.close()
    kinds = sorted(name.split(":")[0] for name in counts)
    assert set(counts.values()) == {"1"}, counts
    # the hot lead goes to the demo account's closer on duty, or (closer busy) is promised a callback
    assert kinds in (sorted(["record_start", "transcription_start", "gather_using_ai", "speak", "transfer"]),
                     sorted(["record_start", "transcription_start", "gather_using_ai", "speak", "hangup"])), counts
