"""What the projector decides, as plain functions: a lead's sync state, the retry backoff, the dead letter.

MongoDB holds the record; Chroma and the graph are projections of it that converge. The I/O is in
`resolvers.leads.propagate` (one lead) and `ops.projector` (the loop every replica runs).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

LEASE = timedelta(seconds=30)
FIRST_RETRY = timedelta(seconds=1)
MAX_RETRY = timedelta(seconds=60)


class SyncState(StrEnum):
    SYNCED = "synced"
    PENDING = "pending"
    FAILED = "failed"


def sync_state(*, pending: bool, failed: bool) -> SyncState:
    if failed:
        return SyncState.FAILED
    return SyncState.PENDING if pending else SyncState.SYNCED


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: 1 s, 2 s, 4 s ... never more than a minute."""
    if attempts < 1:
        return timedelta(0)
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 30), MAX_RETRY)


@dataclass(frozen=True, slots=True)
class Retry:
    attempts: int
    failed: bool  # dead-lettered: no more attempts until someone repairs it
    next_attempt_at: datetime | None


def after_failure(attempts_before: int, *, max_attempts: int, now: datetime) -> Retry:
    attempts = attempts_before + 1
    if attempts >= max_attempts:
        return Retry(attempts, True, None)
    return Retry(attempts, False, now + backoff(attempts))


@dataclass
class Projection:
    """How a mutation hands its lead to the projector: wait this long inline, then wake the background loop."""

    wait: float = 2.0
    max_attempts: int = 10
    wakeup: asyncio.Event | None = None
