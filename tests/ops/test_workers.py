"""`switchboard serve --workers 2` on the embedded default: the supervisor starts every store once, the two workers
share one port, a subscriber on one receives in order the events of webhooks that both served, /metrics counts
the requests of both whichever answers (and of a worker that died), and SIGTERM stops the workers and every
embedded store and removes the metrics folder. Workers that cannot start stop the server instead of restarting
forever."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import websockets
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families

from ops.embedded.ports import free_port
from ops.voice import DEV_KEY_FILE
from ops.workers import METRICS_DIR
from resolvers.ids import decode
from resolvers.ids import encode as encode_id
from tests.client import sign_in
from tests.servers import ROOT, TEST_JWT_SECRET, app_client_state_key, demo_user, read_demo_users
from voice.client_state import encode
from voice.signature import load_private_key
from voice.simulator import envelope, signed_headers

SUBSCRIPTION = "subscription($id: ID!) { callUpdates(callId: $id) { cursor type } }"
EVENTS = 40
WEBHOOK_LINE = re.compile(r'"POST /webhooks/telnyx HTTP/1\.1" 200')
STARTED = re.compile(r"^Application startup complete")
PROBE = "/health/live"
PROBES = 40
PROBE_LINE = re.compile(r'"GET /health/live HTTP/1\.1" 200')
STALE_PID = 1  # never a worker's


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    data: Path
    log: Path
    children: list[psutil.Process]

    def pids(self, pattern: re.Pattern[str]) -> set[int]:
        """The processes that logged a line matching `pattern` (in worker mode each line names its process)."""
        lines = (json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{"))
        return {line["pid"] for line in lines if pattern.search(line["event"])}


def leave_stale_counts(data: Path) -> None:
    """What a server killed before it removed its metrics folder leaves: counts of a worker long gone."""
    folder = data / METRICS_DIR
    folder.mkdir(parents=True)
    stale = MmapedDict(str(folder / f"counter_{STALE_PID}.db"))
    key = mmap_key("switchboard_http_requests", "switchboard_http_requests_total", ["method", "path", "status"],
                   ["GET", PROBE, "200"], "HTTP requests")
    stale.write_value(key, 1000.0, 0.0)
    stale.close()


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Samples by name, over a connection of its own (so either worker may answer)."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=10).text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def probes_counted(found: dict[str, list[tuple[dict[str, str], float]]]) -> float:
    return sum(v for labels, v in found.get("switchboard_http_requests_total", []) if labels["path"] == PROBE)


def answering_pid(found: dict[str, list[tuple[dict[str, str], float]]]) -> int:
    """The worker that answered: the process families are its own, labelled with its pid."""
    (labels, _), = found["process_cpu_seconds_total"]
    return int(labels["pid"])


def start(data: Path, log: Path) -> Served:
    port = free_port()
    env = {**os.environ, "ENVIRONMENT": "test", "LOG_LEVEL": "INFO", "ACCESS_LOG": "true",
           "DEMO_LEADS": "10", "JWT_SECRET": TEST_JWT_SECRET,
           "SIMULATOR_PACE": "0.05"}
    for name in ("POSTGRES_URL", "MONGODB_URI", "NEO4J_URI", "REDIS_URL", "CHROMA_URL", "SIMULATOR_TARGET"):
        env.pop(name, None)  # the embedded default: the supervisor starts every store
    cmd = [sys.executable, "-m", "ops.cli", "serve", "--workers", "2", "--port", str(port), "--data-dir", str(data)]
    with open(log, "ab") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}", process, data, log, [])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if len(served.pids(STARTED)) == 2:  # both workers, not only the first to answer
            served.children = psutil.Process(process.pid).children(recursive=True)
            return served
        time.sleep(0.2)
    process.kill()
    raise TimeoutError(f"serve --workers 2 did not start:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("workers")
    leave_stale_counts(root / "data")
    server = start(root / "data", root / "serve.log")
    yield server
    if server.process.poll() is None:  # a test failed before the one that stops it: stop it as it should stop
        server.process.terminate()
        try:
            server.process.wait(30)
        except subprocess.TimeoutExpired:
            server.process.kill()


async def subscribe(url: str, token: str, call: str, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": SUBSCRIPTION, "variables": {"id": call}}}))
        while len(out) < count:
            message = json.loads(await asyncio.wait_for(ws.recv(), 15))
            assert message["type"] == "next", message
            out.append(message["payload"]["data"]["callUpdates"])
    return out


async def test_a_subscriber_gets_every_event_whichever_worker_took_the_webhook(served: Served) -> None:
    owner = demo_user(read_demo_users(served.data), "acme", "owner")
    token = sign_in(f"{served.url}/graphql", owner["email"], owner["password"])["accessToken"]
    headers = {"authorization": f"Bearer {token}"}
    account = httpx.post(f"{served.url}/graphql", json={"query": "{ account { id } }"}, headers=headers).json()
    account_id = int(decode(account["data"]["account"]["id"])[1])
    key = load_private_key((served.data / DEV_KEY_FILE).read_text())
    call_id = uuid.uuid4().hex
    state = encode(call_id=call_id, account_id=account_id, key=app_client_state_key())
    digits = "".join(str(n % 10) for n in range(EVENTS))

    listening = asyncio.create_task(subscribe(f"{served.url.replace('http', 'ws')}/graphql", token,
                                              encode_id("Call", call_id), EVENTS))
    await asyncio.sleep(0.5)
    for digit in digits:
        body = envelope("call.dtmf.received", {"call_control_id": "v3:workers", "digit": digit, "client_state": state})
        # a connection of its own each time, so the kernel hands the webhooks to either worker
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{served.url}/webhooks/telnyx", content=body,
                                       headers=signed_headers(key, body))
        assert response.status_code == 200 and response.json()["status"] == "applied"
    got = await listening

    assert [e["type"] for e in got] == ["call.dtmf.received"] * EVENTS
    cursors = [tuple(map(int, e["cursor"].split("-"))) for e in got]
    assert cursors == sorted(set(cursors))
    call = httpx.post(f"{served.url}/graphql", headers=headers, json={
        "query": "query($id: ID!) { call(id: $id) { dtmf } }", "variables": {"id": encode_id("Call", call_id)}})
    assert call.json()["data"]["call"]["dtmf"] == digits
    assert len(served.pids(WEBHOOK_LINE)) == 2, "one worker took every webhook: nothing crossed between workers"


def test_metrics_count_the_requests_of_both_workers_whichever_answers(served: Served) -> None:
    for _ in range(PROBES):
        assert httpx.get(f"{served.url}{PROBE}").status_code == 200  # a connection each: either worker may take it
    assert len(served.pids(PROBE_LINE)) == 2, "one worker took every request: nothing to sum"

    answered: set[int] = set()
    for scrapes in range(1, 61):
        found = scrape(served.url)
        answered.add(answering_pid(found))
        # the stale folder's 1000 were cleared at start; the workers' counts add up whichever answers
        assert probes_counted(found) == PROBES, (answering_pid(found), found["switchboard_http_requests_total"])
        if len(answered) == 2 and scrapes >= 10:
            break
    assert answered == served.pids(STARTED), "one worker answered every scrape: nothing shows the sum is shared"


def listening_inodes(process: psutil.Process, port: int) -> set[str]:
    """The inodes of the sockets `process` listens on at `port` (two processes sharing one socket share one)."""
    fds = {c.fd for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
    return {os.readlink(f"/proc/{process.pid}/fd/{fd}") for fd in fds}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreads connections on Linux")
def test_each_worker_listens_on_a_socket_of_its_own_and_both_take_new_connections(served: Served) -> None:
    port = int(served.url.rsplit(":", 1)[1])
    workers = [p for p in served.children if p.pid in served.pids(STARTED)]
    inodes = [listening_inodes(worker, port) for worker in workers]
    assert len(workers) == 2 and all(len(found) == 1 for found in inodes) and inodes[0] != inodes[1], inodes

    answered = Counter(answering_pid(scrape(served.url)) for _ in range(64))  # a new connection each
    assert set(answered) == {w.pid for w in workers} and min(answered.values()) >= 10, answered


def test_a_dead_worker_keeps_its_counts_and_leaves_the_live_gauges(served: Served) -> None:
    """uvicorn replaces a worker that died; the supervisor marks it dead for prometheus_client: its open sockets
    (a live gauge) leave the sums, its counts stay in them."""
    folder = served.data / METRICS_DIR
    workers = served.pids(STARTED)
    dead = min(workers)
    assert (folder / f"gauge_livesum_{dead}.db").exists()
    orphans = psutil.Process(dead).children(recursive=True)
    os.kill(dead, signal.SIGKILL)
    for orphan in orphans:  # its solver pool, orphaned, would outlive the server
        orphan.kill()
    deadline = time.monotonic() + 60
    while (folder / f"gauge_livesum_{dead}.db").exists() or len(served.pids(STARTED)) < 3:
        assert time.monotonic() < deadline, "the dead worker was not replaced and marked dead within 60 s"
        time.sleep(0.2)
    assert (folder / f"counter_{dead}.db").exists()
    for _ in range(10):
        found = scrape(served.url)
        assert answering_pid(found) != dead
        assert probes_counted(found) == PROBES


def test_sigterm_stops_the_workers_and_every_embedded_store(served: Served) -> None:
    assert len(served.children) >= 5  # mongoeco, redis+falkordb, chroma and two workers (PostgreSQL daemonizes)
    postmaster = served.data / "postgres" / "postmaster.pid"
    assert postmaster.exists()
    served.process.terminate()
    assert served.process.wait(30) == 0
    _, alive = psutil.wait_procs(served.children, timeout=5)
    assert alive == []
    assert not postmaster.exists()
    assert not (served.data / METRICS_DIR).exists()


def test_a_worker_that_cannot_start_stops_the_server(store_env: dict[str, str], tmp_path: Path) -> None:
    """Workers whose lifespan fails (an unknown SOLVER) are not replaced in a loop: serve exits 1."""
    env = {**os.environ, **store_env, "ENVIRONMENT": "test", "SWITCHBOARD_DATA_DIR": str(tmp_path),
           "CHROMA_URL": "http://127.0.0.1:1", "AUTO_MIGRATE": "0", "SEED_DEMO": "0", "SOLVER": "no-such-solver"}
    cmd = [sys.executable, "-m", "ops.cli", "serve", "--workers", "2", "--port", str(free_port())]
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "SOLVER must be one of" in result.stderr
