"""The `mongoeco` wire server (SQLite engine) as a child process.

A child rather than in-process: the wire server then has its own event loop and core, and the app talks
to it exactly as it talks to a real mongod, through PyMongo over TCP.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from ops.embedded.ports import free_port, wait_for_port
from ops.embedded.process import ChildServer, spawn


def start_mongo(data_dir: Path, *, port: int = 0, in_memory: bool = False) -> ChildServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    path = ":memory:" if in_memory else str((data_dir / "mongo.sqlite").resolve())
    cmd = [sys.executable, "-m", "ops.embedded.mongo", "--path", path, "--port", str(port)]
    log_path = data_dir / "mongo.log"
    url = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    server = ChildServer("mongoeco", url, spawn(cmd, log_path), log_path)
    try:
        wait_for_port("127.0.0.1", port, what="mongoeco wire server")
    except TimeoutError as exc:
        server.stop()
        raise RuntimeError(f"{exc}\n{server.log_tail()}") from exc
    return server


async def _serve(path: str, host: str, port: int) -> None:
    from mongoeco.engines.sqlite import SQLiteEngine
    from mongoeco.wire import AsyncMongoEcoProxyServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncMongoEcoProxyServer(engine=SQLiteEngine(path), host=host, port=port) as server:
        print(f"mongoeco listening on {server.address.uri}", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a mongoeco SQLite engine over the MongoDB wire protocol")
    parser.add_argument("--path", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.path, args.host, args.port))


if __name__ == "__main__":
    main()
