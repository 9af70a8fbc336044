"""Per-store round trips and time of the README's cross-store query at 5 and at 50 routes.

    .venv/bin/python bench/round_trips.py [--runs 7]

Prints, for each page size, the calls and milliseconds each store reported in `extensions.stores` and the
median wall time; the ratios compare 50 with 5 in the same run (this machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
from stack import app, signed_in, stores

QUERY = """query($first: Int!) { routes(first: $first) { edges { node { number driver { email } stops { sequence
  lead { fullName status referrals { fullName } similar(first: 2) { score lead { fullName } } } } } } } }"""


def ensure_routes(client: httpx.Client, url: str, count: int) -> None:
    have = client.post(url, json={"query": "{ routes(first: 100) { edges { cursor } } }"}).json()
    missing = count - len(have["data"]["routes"]["edges"])
    leads = client.post(url, json={"query": "{ leads(first: 100) { edges { node { id } } } }"}).json()
    ids = [e["node"]["id"] for e in leads["data"]["leads"]["edges"]]
    for i in range(max(0, missing)):
        stops = [
            {"address": f"{n} Bench Ave", "latitude": 40.7, "longitude": -74.0, "leadId": ids[(7 * i + n) % len(ids)]}
            for n in range(6)
        ]
        body = {"query": "mutation($i: CreateRouteInput!) { createRoute(input: $i) { __typename } }",
                "variables": {"i": {"number": f"B-{i}", "date": "2026-12-24", "stops": stops}}}
        assert client.post(url, json=body).json()["data"]["createRoute"]["__typename"] == "RoutePayload"


def measure(client: httpx.Client, url: str, first: int, runs: int) -> tuple[int, dict, float]:
    times, body = [], {}
    for _ in range(runs):
        started = time.perf_counter()
        body = client.post(url, json={"query": QUERY, "variables": {"first": first}}).json()
        times.append(time.perf_counter() - started)
        assert "errors" not in body, body
    rows = sum(1 + len(e["node"]["stops"]) for e in body["data"]["routes"]["edges"])
    return rows, body["extensions"]["stores"], statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    # 50 nested routes cost more than the default MAX_QUERY_COST: the bench measures round trips, not limits
    with stores() as env, app(env, "round-trips", SWITCHBOARD_DEBUG_STATS="1", MAX_QUERY_COST="1000000",
                              COST_BUDGET="100000000") as server:
        with httpx.Client(timeout=120, headers=signed_in(server)) as client:
            ensure_routes(client, server.graphql, 50)
            measure(client, server.graphql, 5, 2)  # warm the model, pools and caches
            results = {first: measure(client, server.graphql, first, args.runs) for first in (5, 50)}
    print(f"{'routes':>6} {'rows':>5} {'median ms':>10}  per-store calls (ms)")
    for first, (rows, per_store, ms) in results.items():
        stats = "  ".join(f"{s}={v['calls']} ({v['ms']:.1f})" for s, v in sorted(per_store.items()))
        print(f"{first:>6} {rows:>5} {ms:>10.1f}  {stats}")
    (rows5, calls5, ms5), (rows50, calls50, ms50) = results[5], results[50]
    same = {s: v["calls"] for s, v in calls5.items()} == {s: v["calls"] for s, v in calls50.items()}
    print(f"rows x{rows50 / rows5:.1f}, time x{ms50 / ms5:.2f}, round trips per store identical: {same}")


if __name__ == "__main__":
    main()
