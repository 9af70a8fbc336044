"""Query cost and budgets over real HTTP: costly queries refused before any store, the cost report, one API key's
bucket drained by two replicas exactly once, 429 with Retry-After, and the per-address limits on anonymous
sign-in attempts and on webhooks."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from graphql import GraphQLSchema, parse
from redis.asyncio import Redis

from datasources.redis.budget import bucket_level
from ops.graphiql import CROSS_STORE
from ops.settings import Settings
from resolvers.cost import WEIGHTS, operation_cost
from resolvers.ids import decode
from schema.root import build_schema
from tests.servers import AppServer, start_app

ISSUE_7 = "{ leads(first: 100) { edges { node { similar(first: 20) { lead { similar(first: 20) { lead { fullName } } } } } } } }"  # noqa: E501
DEEPER = ("{ leads(first: 100) { edges { node { similar(first: 20) { lead { similar(first: 20) { lead { "
          "similar(first: 20) { lead { fullName } } } } } } } } } }")
DRAIN = "{ leads(first: 10) { edges { node { id colleagues { id } } } } }"
SIGN_IN = 'mutation { signIn(email: "nobody-%s@limits.example", password: "not the password") { __typename } }'
MAXIMUM = 10_000  # the defaults, set again: the suite's own app may be given others
OWNER_BUDGET = 50_000
RATE = 20.0  # points a second in the limited apps
SIGN_INS = 3  # per minute, per address, in the limited apps
WEBHOOKS = 3


@cache
def graphql_schema() -> GraphQLSchema:
    return build_schema()._schema


def cost_of(query: str) -> int:
    return operation_cost(graphql_schema(), parse(query), page_size=Settings().max_page_size)


COST = cost_of(DRAIN)
BUDGET = 10 * COST + COST // 2  # ten takes, and half of one more


@pytest.fixture(scope="module")
def api_key(app_server: AppServer, owner_token: str) -> dict[str, Any]:
    """A fresh principal: an API key made by the owner (its own bucket, its own budget by prefix)."""
    made = httpx.post(app_server.graphql, headers={"authorization": f"Bearer {owner_token}"}, timeout=60, json={
        "query": "mutation($n: String!) { createApiKey(name: $n, role: VIEWER) { __typename "
                 "... on ApiKeyCreatedPayload { key apiKey { id prefix } } } }",
        "variables": {"n": f"limits {uuid.uuid4().hex[:8]}"},
    }).json()["data"]["createApiKey"]
    assert made["__typename"] == "ApiKeyCreatedPayload", made
    _, key_id = decode(made["apiKey"]["id"])
    return {"key": made["key"], "prefix": made["apiKey"]["prefix"], "subject": f"apikey:{key_id}"}


@pytest.fixture(scope="module")
def limited(api_key: dict[str, Any], store_env: dict[str, str], data_root: Path) -> Iterator[list[AppServer]]:
    """Two replicas over the suite's stores with limits of their own (the suite's app keeps its settings)."""
    env = {
        **store_env, "SEED_DEMO": "0", "SWITCHBOARD_DEBUG_STATS": "1", "MAX_QUERY_COST": str(MAXIMUM),
        "COST_BUDGET": str(OWNER_BUDGET), "COST_BUDGET_BY_ROLE": "{}",
        "COST_BUDGET_BY_API_KEY": json.dumps({api_key["prefix"]: BUDGET}),
        "COST_RESTORE_RATE": str(RATE), "RATE_LIMIT_MAX_REQUESTS": str(SIGN_INS), "RATE_LIMIT_WINDOW_MS": "60000",
        "WEBHOOK_RATE_LIMIT": f"{WEBHOOKS}/minute",
    }
    with ThreadPoolExecutor(2) as pool:
        servers = list(pool.map(lambda name: start_app(env, data_root / f"limits-{name}.log"), "ab"))
    yield servers
    for server in servers:
        server.stop()


def post(url: str, query: str, token: str | None = None) -> tuple[httpx.Response, float]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    started = time.perf_counter()
    response = httpx.post(url, json={"query": query}, headers=headers, timeout=60)
    return response, time.perf_counter() - started


async def bucket(store_env: dict[str, str], subject: str) -> tuple[float, int] | None:
    redis = Redis.from_url(store_env["REDIS_URL"], decode_responses=True)
    try:
        return await bucket_level(redis, subject=subject)
    finally:
        await redis.aclose()


@pytest.mark.parametrize("query", [ISSUE_7, DEEPER], ids=["issue-7", "one-deeper"])
def test_multiplying_queries_are_refused_in_under_50_ms_before_any_store(
    limited: list[AppServer], owner_token: str, query: str
) -> None:
    maximum = MAXIMUM
    times = []
    with httpx.Client(timeout=60, headers={"authorization": f"Bearer {owner_token}"}) as client:
        for _ in range(7):
            started = time.perf_counter()
            response = client.post(limited[0].graphql, json={"query": query})
            times.append(time.perf_counter() - started)
            body = response.json()
            assert response.status_code == 200 and body["data"] is None
            (error,) = body["errors"]
            assert error["extensions"] == {"code": "QUERY_TOO_COSTLY",
                                           "cost": {"requested": cost_of(query), "maximum": maximum}}
            assert str(cost_of(query)) in error["message"] and str(maximum) in error["message"]
            assert body["extensions"]["stores"] == {}  # not one round trip
            assert body["extensions"]["cost"] == {"requested": cost_of(query), "actual": 0, "throttleStatus": None}
    assert statistics.median(times) < 0.05, times


def test_a_permitted_query_reports_its_requested_and_actual_cost(limited: list[AppServer], owner_token: str) -> None:
    response, _ = post(limited[1].graphql, CROSS_STORE, owner_token)
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    cost, stores = body["extensions"]["cost"], body["extensions"]["stores"]
    assert cost["requested"] == cost_of(CROSS_STORE)
    assert cost["actual"] == sum(WEIGHTS[s] * v["calls"] for s, v in stores.items()) > 0
    assert cost["actual"] < cost["requested"]  # the loaders batch what the static cost counts one by one
    throttle = cost["throttleStatus"]
    assert throttle["maximumAvailable"] == OWNER_BUDGET and throttle["restoreRate"] == RATE
    assert 0 <= throttle["currentlyAvailable"] <= OWNER_BUDGET - cost["requested"]


async def test_two_replicas_drain_one_bucket_exactly_once_then_429_until_it_refills(
    limited: list[AppServer], api_key: dict[str, Any], store_env: dict[str, str]
) -> None:
    first, _ = post(limited[0].graphql, DRAIN, api_key["key"])
    assert first.status_code == 200 and first.json()["extensions"]["cost"]["requested"] == COST
    saved = await bucket(store_env, api_key["subject"])
    assert saved is not None
    level, at = saved
    assert level == pytest.approx(BUDGET - COST)

    async with httpx.AsyncClient(timeout=60, headers={"authorization": f"Bearer {api_key['key']}"}) as client:
        burst = await asyncio.gather(*(
            client.post(limited[i % 2].graphql, json={"query": DRAIN}) for i in range(24)
        ))
    saved = await bucket(store_env, api_key["subject"])
    assert saved is not None
    after, after_at = saved
    passed = [r for r in burst if r.status_code == 200]
    limited_out = [r for r in burst if r.status_code == 429]
    assert len(passed) + len(limited_out) == len(burst)
    # every point taken once, every refilled point kept: the arithmetic of the takes that passed, to the µs
    assert after == pytest.approx(level - len(passed) * COST + RATE * (after_at - at) / 1e6, abs=1e-6)
    assert int(level // COST) <= len(passed) <= int((level + RATE * (after_at - at) / 1e6) // COST)
    assert limited_out, "the burst should run the bucket dry"

    for response in limited_out:
        retry = int(response.headers["retry-after"])
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED" and error["extensions"]["retryAfterSeconds"] == retry
        assert f"retry in {retry} s" in error["message"] and 1 <= retry <= COST / RATE + 1

    # alone now: spend until refused, wait as long as told, and pass
    for _ in range(3):
        refused, _ = post(limited[0].graphql, DRAIN, api_key["key"])
        if refused.status_code == 429:
            break
    assert refused.status_code == 429
    await asyncio.sleep(int(refused.headers["retry-after"]))
    again, _ = post(limited[1].graphql, DRAIN, api_key["key"])
    assert again.status_code == 200, again.text
    throttle = again.json()["extensions"]["cost"]["throttleStatus"]
    assert throttle["maximumAvailable"] == BUDGET and throttle["restoreRate"] == RATE


async def test_a_query_over_the_keys_budget_is_refused_without_touching_its_bucket(
    limited: list[AppServer], api_key: dict[str, Any], store_env: dict[str, str]
) -> None:
    post(limited[0].graphql, DRAIN, api_key["key"])
    before = await bucket(store_env, api_key["subject"])
    response, _ = post(limited[0].graphql, ISSUE_7, api_key["key"])
    (error,) = response.json()["errors"]
    assert response.status_code == 200 and "your cost budget" in error["message"]
    assert error["extensions"]["cost"] == {"requested": cost_of(ISSUE_7), "maximum": BUDGET}
    assert await bucket(store_env, api_key["subject"]) == before


def test_anonymous_sign_in_attempts_past_the_limit_get_429_on_every_replica(limited: list[AppServer]) -> None:
    run = uuid.uuid4().hex[:8]
    for _ in range(SIGN_INS):
        response, _ = post(limited[0].graphql, SIGN_IN % run)
        assert response.json()["data"]["signIn"]["__typename"] == "AuthenticationError"
    for server in limited:
        response, _ = post(server.graphql, SIGN_IN % run)
        assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED" and "sign-in attempts" in error["message"]
    # anonymous queries are no sign-in attempts: not counted
    anonymous, _ = post(limited[1].graphql, "{ __typename }")
    assert anonymous.status_code == 200 and anonymous.json()["data"] == {"__typename": "Query"}


def test_webhooks_past_their_rate_get_429_before_the_body_is_read(limited: list[AppServer]) -> None:
    for _ in range(WEBHOOKS):
        unsigned = httpx.post(f"{limited[1].url}/webhooks/telnyx", content=b"{}", timeout=30)
        assert unsigned.status_code == 401  # counted, then refused for its missing signature
    for server in limited:
        # over the webhook's 256 KiB: a body that was read would get 413
        response = httpx.post(f"{server.url}/webhooks/telnyx", content=b"x" * 300_000, timeout=30)
        assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
        assert "WEBHOOK_RATE_LIMIT" in response.json()["error"]


def test_refusals_and_bucket_levels_are_metrics(limited: list[AppServer]) -> None:
    text = httpx.get(f"{limited[0].url}/metrics", timeout=30).text
    refused = {line.split('"')[1]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("switchboard_operations_refused_total{")}
    assert {"cost", "rate_limited", "webhook"} <= {reason for reason, count in refused.items() if count >= 1}
    assert "sign_in" in refused
    counts = [line for line in text.splitlines() if line.startswith("switchboard_cost_budget_available_ratio_count")]
    assert counts and float(counts[0].rsplit(" ", 1)[1]) >= 1


async def subscribe(server: AppServer, token: str, query: str) -> dict[str, Any]:
    """The first answer to a subscription over graphql-transport-ws (a `next`, or an `error`)."""
    url = server.url.replace("http", "ws", 1) + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] != "ping":
                return dict(message)


async def test_subscriptions_are_costed_once_when_they_start(
    limited: list[AppServer], api_key: dict[str, Any], store_env: dict[str, str]
) -> None:
    costly = ("subscription { liveCalls { call { lead { similar(first: 20) { lead { similar(first: 20) { "
              "lead { similar(first: 5) { score } } } } } } } } }")
    assert BUDGET < cost_of(costly) < MAXIMUM
    await asyncio.sleep(0.5)  # ten points back, whatever the tests before left
    before = await bucket(store_env, api_key["subject"])
    assert before is not None
    refused = await subscribe(limited[0], api_key["key"], costly)
    payload = refused["payload"][0] if refused["type"] == "error" else refused["payload"]["errors"][0]
    assert payload["extensions"]["code"] == "QUERY_TOO_COSTLY", refused
    assert await bucket(store_env, api_key["subject"]) == before
    cheap = "subscription { liveCalls { type } }"
    listening = asyncio.create_task(subscribe(limited[1], api_key["key"], cheap))
    await asyncio.sleep(1.0)
    listening.cancel()
    saved = await bucket(store_env, api_key["subject"])
    assert saved is not None
    (level, at), (after, after_at) = before, saved
    assert after == pytest.approx(min(BUDGET, level + RATE * (after_at - at) / 1e6) - cost_of(cheap), abs=1e-6)
