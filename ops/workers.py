"""`serve --workers N`: a supervisor and N uvicorn worker processes behind one port, over the same stores.

The supervisor does what must happen once: it starts the embedded stores the settings leave unset (with a Chroma
server in place of the in-process PersistentClient, which one process only may open), makes the development
secrets kept in the data folder, migrates and seeds. Then uvicorn's own supervisor spawns the workers; each builds
its settings from the environment set here (the stores' URLs, the data folder, AUTO_MIGRATE off) and runs the
usual lifespan as a client of those stores. When the workers have exited (Ctrl-C, SIGTERM), the embedded stores
are stopped. Everything a worker runs in the background is safe N times over (the README's runbook, "Several
workers on one machine"), except the demo traffic, which one worker at a time runs (`ops.once`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from types import FrameType

from starlette.applications import Starlette

from ops.app import create_app
from ops.embedded import EmbeddedStack, StoreUrls, start_embedded
from ops.first_start import first_start
from ops.logging import configure
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
        return run_workers(host=host, port=port, workers=workers, reload=reload, access_log=access_log,
                           deflate=settings.ws_per_message_deflate)
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


def run_workers(
    *, host: str, port: int, workers: int, reload: bool = False, access_log: bool = True, deflate: bool = False
) -> int:
    """uvicorn's multiprocess supervisor, used directly rather than through `uvicorn.run` for one reason: it
    tells whether a worker failed to start (bad settings, a store refusing), which `uvicorn.run` swallows.
    `reload`: uvicorn's change-reload supervisor over one worker instead."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import ChangeReload, Multiprocess

    config = uvicorn.Config(WORKER_APP, factory=True, host=host, port=port, workers=workers, log_config=None,
                            lifespan="on", ws="websockets-sansio", timeout_worker_healthcheck=HEALTHCHECK_TIMEOUT,
                            reload=reload, reload_dirs=[str(PROJECT)] if reload else None, access_log=access_log,
                            ws_per_message_deflate=deflate)
    sock = config.bind_socket()
    if reload:
        try:
            ChangeReload(config, target=uvicorn.Server(config).run, sockets=[sock]).run()
        finally:
            sock.close()
        return 0
    try:
        supervisor = Multiprocess(config, sockets=[sock])
        supervisor.run()
    finally:
        sock.close()
    return 1 if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes) else 0
