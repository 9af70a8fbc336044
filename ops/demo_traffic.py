"""DEMO_CALLS_PER_MINUTE: the embedded server dials demo leads now and then through the simulated carrier, so the
live view (GraphiQL's live tab, `liveCalls`) shows a working floor without anyone clicking. Development only.

It has no lease of its own, so one process per data folder dials (`ops.once`): `serve --workers N` dials at the
rate asked, not N times it."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from datasources.calls.model import Call
from datasources.mongo import leads
from datasources.postgres import accounts
from datasources.stores import Stores
from ops.once import exclusive
from voice import policy
from voice.service import CallService

log = logging.getLogger(__name__)
SAMPLE = 200  # leads of an account looked at per call
LOCK_FILE = "demo-traffic.lock"


async def place_one(stores: Stores, service: CallService, rng: random.Random, now: datetime) -> Call | None:
    """A call to a random demo lead that may be called now (consent, not on the do-not-call list, calling hours in
    its time zone), in a random account; None when no lead may be called."""
    everyone = await accounts.list_accounts(stores.db)
    rng.shuffle(everyone)
    for account in everyone:
        page = await leads.lead_records_page(account_id=account.id, limit=SAMPLE)
        callable_now = [
            lead for lead in page
            if lead.archived_at is None and policy.refusal(consent_to_call=lead.consent.call,
                                                          do_not_call=lead.do_not_call, timezone=lead.timezone,
                                                          now=now) is None
        ]
        if callable_now:
            placed = await service.start_call(account_id=account.id, lead=rng.choice(callable_now), agent_id=None)
            return placed if isinstance(placed, Call) else None
    return None


def schedule(
    stores: Stores, service: CallService, *, per_minute: float, lock: Path
) -> Callable[[], Awaitable[None]]:
    """Places `per_minute` calls a minute (spaced evenly), once this process holds `lock`, until the returned
    function stops it."""
    rng = random.Random()

    async def run() -> None:
        async with exclusive(lock):
            while True:
                await asyncio.sleep(60.0 / per_minute)
                try:
                    placed = await place_one(stores, service, rng, datetime.now(UTC))
                    if placed is not None:
                        log.info("demo call %s to %s", placed.id, placed.to_number)
                except Exception:
                    log.exception("demo call failed")

    task = asyncio.create_task(run(), name="demo-calls")

    async def stop() -> None:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    return stop
