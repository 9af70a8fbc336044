"""A Chroma server (`chroma run`, the Rust frontend shipped in the chromadb wheel) as a child process.

The embedded default uses `PersistentClient` in-process; this server is for tests of the HTTP client and
for running the API against a real server without Docker.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from ops.embedded.ports import free_port, is_listening, wait_for_port
from ops.embedded.process import ChildServer, spawn

HOST = "127.0.0.1"


def chroma_command() -> list[str]:
    # the console script sits next to the interpreter in a venv; `chromadb.cli.cli` has no __main__ block,
    # so without the script we call its entry point ourselves (the Rust CLI ignores argv[0])
    script = Path(sys.executable).with_name("chroma")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from chromadb.cli.cli import app; app()"]


def start_chroma(data_dir: Path, *, port: int = 0, timeout: float = 30.0) -> ChildServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    if is_listening(HOST, port):
        # else another server's heartbeat would pass for ours while our child fails to bind
        raise RuntimeError(f"chroma: port {HOST}:{port} is already in use")
    cmd = [*chroma_command(), "run", "--path", str(data_dir.resolve()), "--host", HOST, "--port", str(port)]
    log_path = data_dir / "chroma.log"
    server = ChildServer("chroma", f"http://{HOST}:{port}", spawn(cmd, log_path), log_path)
    try:
        wait_for_port(HOST, port, timeout=timeout, what="chroma")
        wait_for_heartbeat(server, timeout=timeout)
    except (TimeoutError, RuntimeError) as exc:
        server.stop()
        raise RuntimeError(f"{exc}\n{server.log_tail()}") from exc
    return server


def wait_for_heartbeat(server: ChildServer, *, timeout: float) -> None:
    # the port opens before the frontend has its system up: only the heartbeat says it can serve
    url = f"{server.url}/api/v2/heartbeat"
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"chroma exited with code {server.process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"chroma did not answer {url} within {timeout:.0f} s")
        time.sleep(0.1)
