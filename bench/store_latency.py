"""Per-store latency of one representative loader call, next to the cost weights it justifies; and what costing
adds to a tiny query.

    .venv/bin/python bench/store_latency.py [--runs 60] [--requests 300] [--rounds 5]

Each probe is a query whose store work is one loader call of one store; `extensions.stores` reports that
store's calls and milliseconds (timed at the adapter), so the median per call is the store's alone. The ratio
divides by the by-id lookups (PostgreSQL, MongoDB). Then two app processes over the same stores, one with the
cost extension taken out of its schema, answer a tiny query in alternating rounds; and the cost function alone
is timed in process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from stack import DATA, ROOT, app, signed_in, stores

from ops.embedded.ports import free_port
from tests.servers import AppServer

PROBES = [  # (store, what it stands for, query)
    ("redis", "a live call by lead", "query($id: ID!) { lead(id: $id) { liveCall { id } } }"),
    ("postgresql", "an account by id", "{ account { name } }"),
    ("mongodb", "a lead by id", "query($id: ID!) { lead(id: $id) { fullName } }"),
    ("neo4j", "referrals, depth 1", "query($id: ID!) { lead(id: $id) { referrals { id } } }"),
    ("neo4j", "referrals, depth 3", "query($id: ID!) { lead(id: $id) { referrals(depth: 3) { id } } }"),
    ("chroma", "5 nearest leads", "query($id: ID!) { lead(id: $id) { similar(first: 5) { score } } }"),
]
TINY = "query Tiny { account { name } }"


def per_call_ms(client: httpx.Client, url: str, store: str, query: str, lead_id: str) -> float:
    body = client.post(url, json={"query": query, "variables": {"id": lead_id} if "$id" in query else {}}).json()
    assert "errors" not in body, body
    counter = body["extensions"]["stores"][store]
    return float(counter["ms"]) / counter["calls"]


def latencies(client: httpx.Client, url: str, runs: int, lead_id: str) -> list[list[float]]:
    """Per probe, the per-call milliseconds of every run; probes interleaved so all see the same noise."""
    samples: list[list[float]] = [[] for _ in PROBES]
    for _ in range(runs):
        for i, (store, _, query) in enumerate(PROBES):
            samples[i].append(per_call_ms(client, url, store, query, lead_id))
    return samples


def create_app_without_costing() -> object:
    """`ops.app:create_app` with the cost extension removed from its schema: the "off" side of the overhead."""
    from functools import partial

    from ops.app import create_app
    from ops.limits import CostLimits

    application = create_app()
    for route in application.routes:
        view = getattr(route, "app", None)
        schema = getattr(view, "schema", None)
        if schema is not None:
            schema.extensions = tuple(
                e for e in schema.extensions if not (isinstance(e, partial) and e.func is CostLimits)
            )
    return application


@contextmanager
def app_without_costing(env: dict[str, str]) -> Iterator[AppServer]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "store_latency:create_app_without_costing", "--factory",
           "--app-dir", str(ROOT / "bench"), "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    log = DATA / "costing-off.log"
    full_env = {**os.environ, "ENVIRONMENT": "test", "LOG_LEVEL": "WARNING", **env}
    with open(log, "ab") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    server = AppServer(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the costing-off app did not start:\n{server.log_tail()}")
            try:
                if httpx.get(f"{server.url}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield server
    finally:
        server.stop()


def tiny_latencies(client: httpx.Client, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.post(url, json={"query": TINY})
        out.append(time.perf_counter() - started)
        assert response.status_code == 200 and "errors" not in response.json(), response.text
    return out


def cost_function_us(query: str, n: int = 500) -> tuple[int, float]:
    from graphql import parse

    from ops.settings import Settings
    from resolvers.cost import operation_cost
    from schema.root import build_schema

    schema, document = build_schema()._schema, parse(query)
    page = Settings().max_page_size
    started = time.perf_counter()
    for _ in range(n):
        cost = operation_cost(schema, document, page_size=page)
    return cost, (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from ops.graphiql import CROSS_STORE
    from resolvers.cost import WEIGHTS

    # a budget no probe runs out of: this measures time, not limits
    big = {"SWITCHBOARD_DEBUG_STATS": "1", "COST_BUDGET": "100000000", "COST_RESTORE_RATE": "1000000"}
    with stores() as env, app(env, "store-latency", **big) as server, app_without_costing({**env, **big}) as off:
        headers = signed_in(server)
        with httpx.Client(timeout=60, headers=headers) as client:
            leads = client.post(server.graphql, json={"query": "{ leads(first: 50) { edges { node { id "
                                                               "referrals { id } } } } }"}).json()
            with_referrals = [e["node"]["id"] for e in leads["data"]["leads"]["edges"] if e["node"]["referrals"]]
            lead_id = (with_referrals or [leads["data"]["leads"]["edges"][0]["node"]["id"]])[0]
            latencies(client, server.graphql, 5, lead_id)  # warm pools, the embedder and caches
            samples = latencies(client, server.graphql, args.runs, lead_id)
            on, off_times = [], []
            tiny_latencies(client, server.graphql, 50)
            tiny_latencies(client, off.graphql, 50)
            for _ in range(args.rounds):
                on += tiny_latencies(client, server.graphql, args.requests // args.rounds)
                off_times += tiny_latencies(client, off.graphql, args.requests // args.rounds)
    medians = [statistics.median(s) for s in samples]
    by_id = min(m for (store, _, _), m in zip(PROBES, medians, strict=True) if store in ("postgresql", "mongodb"))
    print(f"{'store':<11} {'probe':<21} {'median ms/call':>14} {'p90':>7} {'ratio':>6} {'weight':>6}")
    for (store, what, _), median, runs in zip(PROBES, medians, samples, strict=True):
        p90 = statistics.quantiles(runs, n=10)[-1]
        print(f"{store:<11} {what:<21} {median:>14.3f} {p90:>7.3f} {median / by_id:>6.1f} {WEIGHTS[store]:>6}")
    tiny_on, tiny_off = statistics.median(on) * 1000, statistics.median(off_times) * 1000
    print(f"\ntiny query over HTTP, median of {len(on)} each: costing on {tiny_on:.2f} ms, off {tiny_off:.2f} ms, "
          f"ratio {tiny_on / tiny_off:.3f}")
    q7 = "{ leads(first: 100) { edges { node { similar(first: 20) { lead { similar(first: 20) { lead { fullName } } } } } } } }"  # noqa: E501
    for name, query in (("tiny", TINY), ("CrossStore (GraphiQL)", CROSS_STORE), ("issue 7", q7)):
        cost, us = cost_function_us(query)
        print(f"cost function alone, {name}: {cost} points in {us:.0f} µs")


if __name__ == "__main__":
    main()
