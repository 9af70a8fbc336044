"""The planner's pool processes end with the server that started them, even one that was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.servers import ROOT

SERVER = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from fleet.worker import start_worker

if __name__ == "__main__":
    pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker)
    pids = {pool.submit(os.getpid).result() for _ in range(8)}
    print(" ".join(map(str, sorted(pids))), flush=True)
    time.sleep(600)
"""


def test_pool_processes_end_when_their_server_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    server = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert server.stdout is not None
        workers = [int(pid) for pid in server.stdout.readline().split()]
        assert workers and all(psutil.pid_exists(pid) for pid in workers)
    finally:
        server.send_signal(signal.SIGKILL)  # no shutdown: the pool is not told
        server.wait()
        if server.stdout is not None:
            server.stdout.close()
    deadline = time.monotonic() + 15
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
        time.sleep(0.2)
    assert not alive, f"pool processes outlived their server: {alive}"
