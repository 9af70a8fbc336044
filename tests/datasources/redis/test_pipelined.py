"""Script calls of one turn of the loop go to Redis as one pipeline (datasources/redis/pipelined.py), and each
call still gets its own answer and its own error; the budget's takes through it stay exact."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from limits import parse
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from datasources.redis import budget, open_redis
from datasources.redis.pipelined import pipelined

ECHO = "return {KEYS[1], ARGV[1]}"
FAILS = "return redis.error_reply('no ' .. ARGV[1])"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = open_redis(redis_url)
    yield client
    await client.aclose()


async def test_one_turn_of_calls_is_one_pipeline_with_each_answer_its_own(redis: Redis, batches: list[int]) -> None:
    echo, fails = redis.register_script(ECHO), redis.register_script(FAILS)
    await echo(keys=["k"], args=["warm"]), await redis.script_load(FAILS)
    lane = pipelined(redis)
    answers = await asyncio.gather(*(lane.run(echo, [f"k{i}"], [i]) for i in range(50)),
                                   lane.run(fails, ["x"], ["luck"]), return_exceptions=True)
    assert answers[:50] == [[f"k{i}", str(i)] for i in range(50)]
    assert isinstance(answers[50], ResponseError) and "no luck" in str(answers[50])
    assert batches == [51] and not lane.calls.pending and not lane.calls.sending


async def test_a_script_redis_lacks_is_loaded_and_run(redis: Redis) -> None:
    """As after a restart or SCRIPT FLUSH: the pipeline's EVALSHAs answer NOSCRIPT (a new script here, so the
    test flushes nothing shared)."""
    word = uuid.uuid4().hex
    script = redis.register_script(f"return '{word}'")
    lane = pipelined(redis)
    assert await asyncio.gather(*(lane.run(script, ["k"], []) for _ in range(5))) == [word] * 5
    assert await redis.script_exists(script.sha) == [True]


async def test_a_cancelled_caller_leaves_the_others_their_answers(redis: Redis) -> None:
    echo = redis.register_script(ECHO)
    lane = pipelined(redis)
    calls = [asyncio.ensure_future(lane.run(echo, ["k"], [i])) for i in range(4)]
    await asyncio.sleep(0)
    calls[1].cancel()
    done = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(done[1], asyncio.CancelledError)
    assert [done[i] for i in (0, 2, 3)] == [["k", "0"], ["k", "2"], ["k", "3"]]


async def test_concurrent_takes_spend_a_bucket_exactly_once(redis: Redis, batches: list[int]) -> None:
    """100 takes of 1 point raced at a bucket of 60: exactly 60 are allowed, sent as one pipeline."""
    subject = f"test:{uuid.uuid4().hex}"
    taken = await asyncio.gather(*(budget.take(redis, subject=subject, cost=1, capacity=60, rate=0.001)
                                   for _ in range(100)))
    assert sum(t.allowed for t in taken) == 60
    assert min(t.available for t in taken) == pytest.approx(0, abs=0.01)
    assert batches == [100]


async def test_plain_commands_share_the_turns_pipeline_and_keep_their_own_answers_and_errors(
    redis: Redis, batches: list[int]
) -> None:
    """Reads of one turn (as the webhooks' call reads) go with the scripts of that turn; a command that fails (a
    wrong type) fails alone."""
    echo = redis.register_script(ECHO)
    await echo(keys=["k"], args=["warm"])
    word = uuid.uuid4().hex
    await redis.set(f"test:{word}:0", "zero")
    await redis.set(f"test:{word}:1", "one")
    await redis.rpush(f"test:{word}:list", "x")
    lane = pipelined(redis)
    answers = await asyncio.gather(
        lane.command("MGET", f"test:{word}:0", f"test:{word}:none"), lane.run(echo, ["k"], [1]),
        lane.command("GET", f"test:{word}:1"), lane.command("GET", f"test:{word}:list"),
        return_exceptions=True,
    )
    assert answers[:3] == [["zero", None], ["k", "1"], "one"]
    assert isinstance(answers[3], ResponseError) and "WRONGTYPE" in str(answers[3])
    assert batches == [4]
    assert await lane.command("GET", f"test:{word}:0") == "zero"  # alone: as `execute_command` answers it


async def test_the_moving_window_counts_through_the_pipeline_exactly_as_the_library_does(
    redis: Redis, batches: list[int]
) -> None:
    """30 requests raced at 12 a minute: 12 through, 18 told how long to wait, all in one pipeline; the library's
    own reading of the window (`get_window_stats`) sees the 12."""
    limit = parse("12/minute")
    name = f"test:{uuid.uuid4().hex}"
    waits = await asyncio.gather(*(budget.hit(redis, limit=limit, name=name) for _ in range(30)))
    assert sum(w is None for w in waits) == 12
    assert all(0 < w <= 60 for w in waits if w is not None)
    assert batches[0] == 30
    _, remaining = await budget._limiter(redis).get_window_stats(limit, name)
    assert remaining == 0
    other = f"test:{uuid.uuid4().hex}"
    assert await budget.hit(redis, limit=limit, name=other) is None
    assert (await budget._limiter(redis).get_window_stats(limit, other))[1] == 11
