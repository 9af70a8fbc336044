"""`serve --workers N`: a supervisor and N uvicorn worker processes behind one port, over the same stores.

The supervisor does what must happen once: it starts the embedded stores the settings leave unset (with a Chroma
server in place of the in-process PersistentClient, which one process only may open), makes the development
secrets kept in the data folder, migrates and seeds. Then uvicorn's own supervisor spawns the workers; each builds
its settings from the environment set here (the stores' URLs, the data folder, AUTO_MIGRATE off) and runs the
usual lifespan as a client of those stores. When the workers have exited (Ctrl-C, SIGTERM), the embedded stores
are stopped. Everything a worker runs in the background is safe N times over (the README's runbook, "Several
workers on one machine"), except the demo traffic, which one worker at a time runs (`ops.once`).

Metrics: the supervisor gives the workers an empty folder for prometheus_client's multiprocess files
(PROMETHEUS_MULTIPROC_DIR, `DATA_DIR/prometheus-multiproc`, emptied at start and removed on exit), so that whichever
worker answers `/metrics` serves the sums over all of them (ops/metrics.py), and tells prometheus_client of each
worker that exits, so its live gauges (open sockets) leave the sums.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from prometheus_client import multiprocess
from starlette.applications import Starlette
from uvicorn import Config
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from ops.app import create_app
from ops.embedded import EmbeddedStack, StoreUrls, start_embedded
from ops.first_start import first_start
from ops.logging import configure
from ops.metrics import MULTIPROC_DIR
from ops.secrets import signing_secret
from ops.settings import Settings, production_problems
from ops.stores import open_stores
from ops.voice import dev_private_key, webhook_public_key

log = logging.getLogger(__name__)

WORKER_APP = "ops.workers:worker_app"
# uvicorn kills a worker that does not answer its health ping in time, and a spawned worker answers only once it
# has imported the module `serve` runs from: 2 s idle, past 10 s seen with two workers starting on two busy cores,
# where uvicorn's default (5 s) kills them in a loop. The cost of a longer bound: a worker that dies while a ping
# is in flight (one failing its start-up, say) is noticed only when the bound runs out
HEALTHCHECK_TIMEOUT = 20
PROJECT = Path(__file__).resolve().parent.parent  # what --reload watches
METRICS_DIR = "prometheus-multiproc"  # in the data folder


def worker_app() -> Starlette:
    """The app factory each worker process calls; its settings come from the environment the supervisor set.

    A factory that raises would make uvicorn replace the worker again and again: it exits with uvicorn's
    start-up failure code instead, which stops the supervisor."""
    from uvicorn.config import STARTUP_FAILURE

    try:
        settings = Settings()
        configure(settings.log_level, json=settings.profile.json_logs or not sys.stderr.isatty(), pid=True)
        return create_app(settings)
    except Exception:
        log.exception("the worker could not build the app")
        sys.exit(STARTUP_FAILURE)


def serve_workers(
    settings: Settings, *, host: str, port: int, workers: int, reload: bool = False, access_log: bool = True
) -> int:
    """Blocks until the workers are gone; the exit status is 1 when a worker could not start, else 0. With
    `reload`, one worker, started again whenever a Python file of the project changes (the stores keep running)."""
    problems = production_problems(settings)
    if problems:
        raise ValueError(f"refusing to start in {settings.environment.value}:\n  - " + "\n  - ".join(problems))
    # until uvicorn's supervisor takes the signals over, SIGTERM unwinds (and stops the embedded stores) as Ctrl-C
    signal.signal(signal.SIGTERM, _interrupt)
    stack = start_stores(settings)
    try:
        make_secrets(settings)
        asyncio.run(prepare(settings, stack.urls))
        os.environ.update(worker_environment(settings, stack.urls))
        deflate = settings.ws_per_message_deflate
        if reload:  # one worker at a time: its own registry, as a single process
            return run_workers(host=host, port=port, workers=workers, reload=True, access_log=access_log,
                               deflate=deflate)
        with metrics_folder(settings.data_dir) as folder:
            # set before any worker is spawned, hence before any imports prometheus_client
            os.environ[MULTIPROC_DIR] = str(folder)
            return run_workers(host=host, port=port, workers=workers, access_log=access_log, deflate=deflate,
                               on_exit=lambda pid: multiprocess.mark_process_dead(pid, str(folder)))
    except KeyboardInterrupt:
        return 130
    finally:
        stack.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def start_stores(settings: Settings) -> EmbeddedStack:
    """The embedded stores the settings leave unset, Chroma as a server: N processes share each of them."""
    stack = start_embedded(settings)
    if not stack.urls.chroma:
        from ops.embedded.chroma import start_chroma

        try:
            chroma = start_chroma(stack.urls.chroma_path)
        except BaseException:
            stack.stop()
            raise
        stack.servers.append(chroma)
        stack.urls.chroma = chroma.url
    return stack


def make_secrets(settings: Settings) -> None:
    """The development secrets are made on first use and kept in the data folder: N workers starting at once
    would each write its own, and a token one worker signed another would refuse. Made here, before them."""
    signing_secret(settings)
    if not settings.profile.real_carrier:
        dev_private_key(settings)
    webhook_public_key(settings)


async def prepare(settings: Settings, urls: StoreUrls) -> None:
    async with AsyncExitStack() as exits:
        await first_start(settings, await open_stores(settings, urls, exits))


def worker_environment(settings: Settings, urls: StoreUrls) -> dict[str, str]:
    """What a worker needs beyond the supervisor's own environment, in the variables `Settings` reads."""
    return {
        "POSTGRES_URL": urls.postgres,
        "MONGODB_URI": urls.mongodb,
        "NEO4J_URI": urls.graph,
        "REDIS_URL": urls.redis,
        "CHROMA_URL": urls.chroma,
        "SWITCHBOARD_DATA_DIR": str(settings.data_dir.resolve()),
        "SIMULATOR_TARGET": settings.simulator_target,
        # the supervisor migrated already (or, with AUTO_MIGRATE off, leaves it to `switchboard migrate`)
        "AUTO_MIGRATE": "false",
    }


@contextmanager
def metrics_folder(data_dir: Path) -> Iterator[Path]:
    """An empty folder for the workers' metric files, removed afterwards. Emptied first: the files of a server that
    was killed before it could remove them would be summed into this one's counters."""
    folder = (data_dir / METRICS_DIR).resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


REUSE_PORT = hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


class ReusePortSocket(socket.socket):
    """The port's socket, bound with SO_REUSEPORT, which every worker receives as a listening socket of its own:
    pickled to a spawned worker (uvicorn hands each the supervisor's sockets), it is bound again there, on the
    same address with the same option, and listens there. Linux then spreads new connections over the workers'
    sockets evenly. On one shared socket whichever worker woke first took the connection: one worker took 80 to
    99% of them under load (bench/workers.py), and a second worker bought nothing. The supervisor's own socket
    only holds the address (and the port chosen, for port 0): a socket that does not listen gets no connections.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return _bound_again, (self.family, self.getsockname())


def listening_socket(host: str, port: int) -> ReusePortSocket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = _reuse_port_socket(family, (host, port))
    except OSError as exc:
        log.error("cannot bind %s:%d: %s", host, port, exc)
        from uvicorn.config import STARTUP_FAILURE

        sys.exit(STARTUP_FAILURE)
    log.info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, sock.getsockname()[1])
    return sock


def _reuse_port_socket(family: socket.AddressFamily, address: tuple[Any, ...]) -> ReusePortSocket:
    sock = ReusePortSocket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def _bound_again(family: socket.AddressFamily, address: tuple[Any, ...]) -> socket.socket:
    """In the worker: a socket of its own on the supervisor's address (uvicorn's server makes it listen)."""
    sock = _reuse_port_socket(family, address)
    plain = socket.socket(family=family, fileno=sock.detach())  # uvicorn's server takes a plain socket
    return plain


class Supervisor(Multiprocess):
    """uvicorn's multiprocess supervisor, calling `on_exit(pid)` once for each worker that has exited while it runs:
    one that died (and was replaced), or one SIGHUP replaced or SIGTTOU retired. Checked on each turn of its loop
    (every half second): after its signals (which restart or retire workers), and after its health checks (which
    replace the dead). Not told: a replacement SIGHUP started that never became ready (uvicorn kills it before it
    is in `processes`), and the workers stopped at the end (their folder goes with the server)."""

    def __init__(self, config: Config, sockets: list[socket.socket], on_exit: Callable[[int], None]) -> None:
        super().__init__(config, sockets)
        self.on_exit = on_exit
        self.running: dict[int, Process] = {}

    def handle_signals(self) -> None:
        super().handle_signals()
        self.notice_exits()

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        self.notice_exits()

    def notice_exits(self) -> None:
        for process in self.processes:
            if process.pid is not None:
                self.running.setdefault(process.pid, process)
        for pid, process in list(self.running.items()):
            if process.exitcode is not None:
                del self.running[pid]
                self.on_exit(pid)


def run_workers(*, host: str, port: int, workers: int, reload: bool = False, access_log: bool = True,
                deflate: bool = False, on_exit: Callable[[int], None] = lambda pid: None) -> int:
    """uvicorn's multiprocess supervisor, used directly rather than through `uvicorn.run`: it tells whether a
    worker failed to start (bad settings, a store refusing), which `uvicorn.run` swallows, and (`on_exit`) which
    workers exited while it ran. `reload`: uvicorn's change-reload supervisor over one worker instead."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import ChangeReload

    config = uvicorn.Config(WORKER_APP, factory=True, host=host, port=port, workers=workers, log_config=None,
                            lifespan="on", ws="websockets-sansio", timeout_worker_healthcheck=HEALTHCHECK_TIMEOUT,
                            reload=reload, reload_dirs=[str(PROJECT)] if reload else None, access_log=access_log,
                            ws_per_message_deflate=deflate)
    sock = config.bind_socket() if reload or not REUSE_PORT else listening_socket(host, port)
    if reload:
        try:
            ChangeReload(config, target=uvicorn.Server(config).run, sockets=[sock]).run()
        finally:
            sock.close()
        return 0
    try:
        supervisor = Supervisor(config, [sock], on_exit)
        supervisor.run()
    finally:
        sock.close()
    return 1 if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes) else 0
