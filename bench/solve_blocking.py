"""Does a solve hold up the API? A tiny query's latency while idle, then while a 30 s optimisation runs.

    .venv/bin/python bench/solve_blocking.py [--seconds 30] [--idle 10] [--gap-ms 20]

One app process over embedded stores (bench/stack.py) with SOLVER_WORKERS=1: the solve runs in the planner's
process pool, so the server's event loop only awaits it. Requests go one at a time, `--gap-ms` apart, the
same way in both phases. The target (issue 10): during-solve p99 within 2x of idle p99.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

import httpx
from stack import app, signed_in, stores

TINY = "query Tiny { account { name } }"
VANS = "{ vehicles(first: 100) { edges { node { id plate } } } }"
OPTIMIZE = """mutation($input: OptimizeRoutesInput!) { optimizeRoutes(input: $input) { __typename
  ... on OptimizationJobPayload { job { id status } } ... on UserError { message } } }"""
JOB = "query($id: ID!) { job(id: $id) { status bestObjective result { vehiclesUsed distanceKm feasible } } }"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def tiny(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    response = client.post(url, json={"query": TINY})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return elapsed


def gql(client: httpx.Client, url: str, query: str, **variables: object) -> dict:
    body = client.post(url, json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0, help="the solve's time limit")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle measurement")
    parser.add_argument("--gap-ms", type=float, default=20.0)
    args = parser.parse_args()
    gap = args.gap_ms / 1000
    with stores() as env, app(env, "solve-blocking", SOLVER_WORKERS="1") as server:
        url = server.graphql
        with httpx.Client(timeout=60, headers=signed_in(server)) as client:
            for _ in range(50):
                tiny(client, url)  # warm up
            idle: list[float] = []
            until = time.monotonic() + args.idle
            while time.monotonic() < until:
                idle.append(tiny(client, url))
                time.sleep(gap)
            vans = [e["node"]["id"] for e in gql(client, url, VANS)["vehicles"]["edges"]
                    if e["node"]["plate"].startswith("ACM-")]
            job = gql(client, url, OPTIMIZE, input={
                "date": datetime.now(UTC).date().isoformat(), "vehicleIds": vans, "unplannedForDate": True,
                "timeLimitSeconds": args.seconds,
            })["optimizeRoutes"]
            assert job["__typename"] == "OptimizationJobPayload", job
            job_id = job["job"]["id"]
            while gql(client, url, JOB, id=job_id)["job"]["status"] == "QUEUED":
                time.sleep(0.05)
            busy: list[float] = []
            while True:
                state = gql(client, url, JOB, id=job_id)["job"]
                if state["status"] != "RUNNING":
                    break
                for _ in range(10):
                    busy.append(tiny(client, url))
                    time.sleep(gap)
    ms = [(statistics.median(x) * 1000, percentile(x, 0.99) * 1000) for x in (idle, busy)]
    print(f"tiny query, one at a time {args.gap_ms:g} ms apart; solve: pyvrp, {args.seconds:g} s, SOLVER_WORKERS=1")
    print(f"idle        n={len(idle):5d}  p50 {ms[0][0]:7.2f} ms  p99 {ms[0][1]:7.2f} ms")
    print(f"during solve n={len(busy):4d}  p50 {ms[1][0]:7.2f} ms  p99 {ms[1][1]:7.2f} ms")
    print(f"ratio during/idle: p50 x{ms[1][0] / ms[0][0]:.2f}, p99 x{ms[1][1] / ms[0][1]:.2f} (target p99 <= x2)")
    print(f"job: {state['status']}, result {state['result']}")


if __name__ == "__main__":
    main()
