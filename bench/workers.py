"""`serve --workers 1` against `serve --workers 2`: requests per second under wrk, and their ratio.

    .venv/bin/python bench/workers.py [--rounds 3] [--duration 5] [--connections 32]

Both servers run at once over the same stores (bench/stack.py: embedded, under .bench/) and are measured in
alternation, round after round, so both see the same machine noise. Two operations: `{ __typename }` (the HTTP,
auth and GraphQL path alone) and a PostgreSQL-only page of vehicles. Each figure is one `wrk -t1 -cC -dDs` run
POSTing the operation with the demo owner's token; the table gives the median per server and the ratio. Each line
also gives the CPU seconds the serving processes used and, with 2 workers, each one's share (the kernel hands a
new connection to whichever worker accepts first, so the split need not be even), and the load average: on a
shared machine a ratio means little without it. The summary adds requests per CPU second of the serving processes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import psutil
from stack import DATA, ROOT, stores

sys.path.insert(0, str(ROOT))

from ops.embedded.ports import free_port  # noqa: E402
from tests.client import sign_in  # noqa: E402
from tests.servers import demo_user, read_demo_users  # noqa: E402

OPERATIONS = {
    "typename": "{ __typename }",
    "postgres": "{ vehicles(first: 20) { edges { node { id plate name kind capacityKg status } } } }",
}
# one owner sends everything: its cost budget must outlast the run
UNLIMITED = {"COST_BUDGET": "1000000000", "COST_RESTORE_RATE": "1000000000", "LOG_LEVEL": "WARNING"}
RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
FAILED = re.compile(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*")


@dataclass
class Server:
    url: str
    serving: list[psutil.Process]  # the processes that answer requests: the worker(s)

    def cpu_seconds(self) -> list[float]:
        return [sum(process.cpu_times()[:2]) for process in self.serving]


@contextmanager
def serve(env: dict[str, str], workers: int) -> Iterator[Server]:
    """`switchboard serve --workers N` over the bench stores, stopped with SIGTERM as an operator would."""
    port = free_port()
    log = open(DATA / f"serve-{workers}.log", "ab")  # noqa: SIM115 - the child writes it until it stops
    cmd = [sys.executable, "-m", "ops.cli", "serve", "--workers", str(workers), "--port", str(port)]
    process = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env, **UNLIMITED}, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while not answers_everywhere(url, workers):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve --workers {workers} did not start: see {log.name}")
            time.sleep(0.5)
        supervisor = psutil.Process(process.pid)
        # with one worker the process serves itself; else uvicorn's spawned children do (not its resource tracker)
        serving = [supervisor] if workers == 1 else [
            child for child in supervisor.children() if "spawn_main" in " ".join(child.cmdline())]
        yield Server(url, serving)
    finally:
        process.terminate()
        process.wait(60)
        log.close()


def answers_everywhere(url: str, workers: int) -> bool:
    """True once `workers` distinct processes answered `/health`, each known by when its lifespan started (the
    answer's timestamp less its uptime; `process_start_time_seconds` cannot tell workers spawned in one tick)."""
    started: list[float] = []
    try:
        for _ in range(8 * workers):
            with httpx.Client() as client:  # a new connection, which any worker may accept
                health = client.get(f"{url}/health", timeout=5).json()
            instant = datetime.fromisoformat(health["timestamp"]).timestamp() - health["uptime"]
            if all(abs(instant - other) > 0.005 for other in started):
                started.append(instant)
    except (httpx.HTTPError, ValueError, KeyError):
        return False
    return len(started) >= workers


def lua_script(folder: Path, name: str, token: str) -> Path:
    path = folder / f"{name}.lua"
    body = json.dumps({"query": OPERATIONS[name]})
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )
    return path


def check(url: str, name: str, token: str) -> None:
    """The operation answers data, not errors, before it is timed (wrk counts any 200 as a success)."""
    answer = httpx.post(f"{url}/graphql", json={"query": OPERATIONS[name]},
                        headers={"authorization": f"Bearer {token}"}, timeout=30).json()
    if answer.get("errors") or not answer.get("data"):
        raise RuntimeError(f"{name}: {answer}")


def wrk(url: str, script: Path, *, connections: int, duration: int) -> float:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(script), f"{url}/graphql"],
                         capture_output=True, text=True, check=True).stdout
    if failed := FAILED.search(out):
        raise RuntimeError(f"wrk saw failures: {failed[0]}\n{out}")
    return float(RPS.search(out)[1])  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    with stores() as env, ExitStack() as running, tempfile.TemporaryDirectory() as scripts:
        servers = {1: running.enter_context(serve(env, 1))}  # the first start seeds: before the second server
        servers[2] = running.enter_context(serve(env, 2))
        urls = {n: server.url for n, server in servers.items()}
        owner = demo_user(read_demo_users(Path(env["SWITCHBOARD_DATA_DIR"])), "acme", "owner")
        token = str(sign_in(f"{urls[1]}/graphql", owner["email"], owner["password"])["accessToken"])
        lua = {name: lua_script(Path(scripts), name, token) for name in OPERATIONS}
        for name in OPERATIONS:
            for url in urls.values():
                check(url, name, token)
        rps: dict[tuple[str, int], list[float]] = {(name, n): [] for name in OPERATIONS for n in urls}
        per_cpu: dict[tuple[str, int], list[float]] = {(name, n): [] for name in OPERATIONS for n in urls}
        for round_ in range(args.rounds):
            for name in OPERATIONS:
                for n, server in (servers.items() if round_ % 2 == 0 else reversed(servers.items())):
                    before = server.cpu_seconds()
                    rps[name, n].append(wrk(server.url, lua[name], connections=args.connections,
                                            duration=args.duration))
                    used = [after - then for after, then in zip(server.cpu_seconds(), before, strict=True)]
                    per_cpu[name, n].append(rps[name, n][-1] * args.duration / max(sum(used), 1e-9))
                    split = " / ".join(f"{share / max(sum(used), 1e-9):.0%}" for share in used)
                    print(f"round {round_ + 1} {name:<9} {n} worker(s): {rps[name, n][-1]:8.0f} rps, "
                          f"cpu {sum(used):4.1f} s ({split}), load {os.getloadavg()[0]:.1f}", flush=True)

    print(f"\nwrk -t1 -c{args.connections} -d{args.duration}s, median of {args.rounds} interleaved rounds, "
          f"{os.cpu_count()} cores")
    print("requests per second, then requests per CPU second of the serving processes (what a worker costs, which")
    print("the machine's other load moves far less than it moves the CPU the server gets)")
    print(f"{'operation':<10} {'1 worker':>10} {'2 workers':>10} {'ratio':>7}   {'1 worker':>10} {'2 workers':>10} "
          f"{'ratio':>7}")
    for name in OPERATIONS:
        one, two = statistics.median(rps[name, 1]), statistics.median(rps[name, 2])
        one_cpu, two_cpu = statistics.median(per_cpu[name, 1]), statistics.median(per_cpu[name, 2])
        print(f"{name:<10} {one:>10.0f} {two:>10.0f} {two / one:>6.2f}x   {one_cpu:>10.0f} {two_cpu:>10.0f} "
              f"{two_cpu / one_cpu:>6.2f}x")


if __name__ == "__main__":
    main()
