"""One process at a time per data folder, for work that must not run in every worker (the demo traffic).

An exclusive `flock` on a file in the data folder: `serve --workers N` runs N processes of one app, and only the
one holding the lock does the work. The kernel releases it when its holder exits, however it exits (a SIGKILLed
worker included), and a waiter polling for it takes over, so the work survives a worker uvicorn replaced.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path


@asynccontextmanager
async def exclusive(path: Path, *, poll: float = 2.0) -> AsyncIterator[None]:
    """Waits (polling every `poll` seconds) until this process holds the lock on `path`, and holds it inside."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(poll)
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the lock
