"""The metric families operators asked for appear after one query, one subscription and one webhook."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families

from ops.voice import DEV_KEY_FILE
from resolvers.ids import decode
from tests.servers import AppServer, app_client_state_key
from voice.client_state import encode
from voice.signature import load_private_key
from voice.simulator import envelope, signed_headers


def scrape(app: AppServer) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(f"{app.url}/metrics", timeout=10).text
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:  # by sample name: a counter's family drops its `_total`
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(found: dict[str, list[tuple[dict[str, str], float]]], family: str, **labels: str) -> float:
    return sum(v for got, v in found.get(family, []) if labels.items() <= got.items())


async def test_one_query_subscription_and_webhook_show_in_every_family(
    app_server: AppServer, store_env: dict[str, str], owner_token: str, auth_headers: dict[str, str]
) -> None:
    before = scrape(app_server)
    async with httpx.AsyncClient(headers=auth_headers, timeout=30) as http:
        answer = (await http.post(app_server.graphql, json={
            "query": "query Showcase { account { id } leads(first: 3) { edges { node { id account { id } } } } }",
            "operationName": "Showcase"})).json()
        assert not answer.get("errors"), answer
        await http.post(app_server.graphql, json={"query": "{ lead(id: 12) { id } }"})  # an error with a code

    async with websockets.connect(app_server.ws, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {owner_token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": "subscription Floor { liveCalls { cursor type } }"}}))
        await asyncio.sleep(0.5)
        open_now = scrape(app_server)
        assert value(open_now, "switchboard_websocket_connections") >= 1
        assert value(open_now, "switchboard_subscriptions_active", field="liveCalls") >= 1

        account_id = int(decode(answer["data"]["account"]["id"])[1])
        key = load_private_key((Path(store_env["SWITCHBOARD_DATA_DIR"]) / DEV_KEY_FILE).read_text())
        state = encode(call_id=uuid.uuid4().hex, account_id=account_id, key=app_client_state_key())
        body = envelope("call.initiated", {"call_control_id": "v3:metrics", "direction": "outgoing",
                                           "client_state": state})
        async with httpx.AsyncClient() as http:
            posted = await http.post(f"{app_server.url}/webhooks/telnyx", content=body,
                                     headers=signed_headers(key, body))
        assert posted.status_code == 200
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert event["payload"]["data"]["liveCalls"]["type"] == "call.initiated"

    after = scrape(app_server)
    grew = {
        "switchboard_graphql_operations_total": dict(type="query", name="Showcase", outcome="ok"),
        "switchboard_graphql_errors_total": dict(code="BAD_USER_INPUT"),
        "switchboard_dataloader_loads_total": dict(loader="account"),
        "switchboard_dataloader_batch_size_count": dict(loader="account"),
        "switchboard_webhook_events_total": dict(type="call.initiated", result="applied"),
        "switchboard_call_transitions_total": dict(to_state="initiated"),
    }
    for family, labels in grew.items():
        assert value(after, family, **labels) > value(before, family, **labels), (family, labels)
    assert value(after, "switchboard_graphql_operation_seconds_count", type="query", name="Showcase") >= 1
    assert value(after, "switchboard_graphql_operations_total", type="subscription", name="Floor") >= 1
    assert value(after, "switchboard_subscriptions_active", field="liveCalls") == 0
    for family in ("switchboard_document_cache_lookups", "switchboard_pool_connections_in_use",
                   "switchboard_outbox_backlog", "switchboard_outbox_age_seconds", "switchboard_projection_backlog",
                   "switchboard_projection_age_seconds", "switchboard_build_info", "process_cpu_seconds_total",
                   "process_resident_memory_bytes"):
        assert after.get(family), family
    assert value(after, "switchboard_document_cache_lookups", cache="parse") >= 1
