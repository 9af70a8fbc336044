"""The projector's decisions: backoff doubling to a cap, the dead letter after the last attempt, sync state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from resolvers.leads.projector import MAX_RETRY, SyncState, after_failure, backoff, sync_state

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def test_backoff_doubles_from_one_second_to_a_minute() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff(10_000) == MAX_RETRY


@given(st.integers(min_value=1, max_value=10_000))
def test_backoff_never_shrinks_and_stays_capped(attempts: int) -> None:
    assert backoff(attempts) <= backoff(attempts + 1) <= MAX_RETRY


def test_a_failure_schedules_the_next_attempt_until_the_last_dead_letters() -> None:
    first = after_failure(0, max_attempts=3, now=NOW)
    assert (first.attempts, first.failed, first.next_attempt_at) == (1, False, NOW + timedelta(seconds=1))
    second = after_failure(1, max_attempts=3, now=NOW)
    assert (second.attempts, second.failed, second.next_attempt_at) == (2, False, NOW + timedelta(seconds=2))
    last = after_failure(2, max_attempts=3, now=NOW)
    assert (last.attempts, last.failed, last.next_attempt_at) == (3, True, None)


@given(st.integers(min_value=0, max_value=50), st.integers(min_value=1, max_value=50))
def test_dead_lettered_exactly_when_the_attempts_reach_the_limit(before: int, limit: int) -> None:
    retry = after_failure(before, max_attempts=limit, now=NOW)
    assert retry.attempts == before + 1
    assert retry.failed == (before + 1 >= limit)
    assert (retry.next_attempt_at is None) == retry.failed


def test_sync_state() -> None:
    assert sync_state(pending=False, failed=False) is SyncState.SYNCED
    assert sync_state(pending=True, failed=False) is SyncState.PENDING
    assert sync_state(pending=True, failed=True) is SyncState.FAILED
