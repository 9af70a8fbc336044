"""The projector loop every replica runs: claims pending leads one at a time and projects them.

Leases in MongoDB make each change projected once across replicas. There are no change streams here
(mongoeco), so the loop polls every `PROJECTION_POLL`, and a mutation that leaves its lead pending wakes it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from contextlib import suppress
from datetime import timedelta
from uuid import uuid4

from datasources.mongo import projection as state
from datasources.mongo.documents import utcnow
from datasources.stores import Stores
from resolvers.leads.projector import LEASE, Projection
from resolvers.leads.propagate import project_claimed

log = logging.getLogger(__name__)


class Projector:
    def __init__(self, stores: Stores, config: Projection, *, poll: timedelta) -> None:
        self.stores = stores
        self.config = config
        self.wakeup = config.wakeup or asyncio.Event()
        self.poll = poll.total_seconds()
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid4().hex[:6]}"
        self._task: asyncio.Task[None] | None = None

    async def drain(self) -> int:
        """Projects every lead that is due now; returns how many it took."""
        taken = 0
        while claimed := await state.claim_next(owner=self.owner, now=utcnow(), lease=LEASE):
            await project_claimed(self.stores, *claimed, owner=self.owner, max_attempts=self.config.max_attempts)
            taken += 1
        return taken

    async def run(self) -> None:
        while True:
            self.wakeup.clear()
            try:
                await self.drain()
            except Exception:
                log.exception("projector: MongoDB refused; trying again in %.1f s", self.poll)
            with suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), self.poll)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="projector")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
