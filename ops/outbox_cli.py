"""`switchboard outbox list|retry`: the archive jobs that failed `ARCHIVE_MAX_ATTEMPTS` times (the dead letter)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer
from redis.asyncio import Redis

from datasources.redis import open_redis
from ops.settings import Settings
from voice.outbox import DeadLetter, dead_letters, retry_dead_letters

app = typer.Typer(
    help="The archive outbox's dead letter: ended calls whose archive kept failing.", no_args_is_help=True
)


def _with_redis[T](work: Callable[[Redis], Awaitable[T]]) -> T:
    url = Settings().redis_url
    if not url:
        # an embedded Redis belongs to the running server, which alone knows its port
        typer.echo("error: set REDIS_URL to the server's Redis", err=True)
        raise typer.Exit(2)

    async def run() -> T:
        redis = open_redis(url)
        try:
            return await work(redis)
        finally:
            await redis.aclose()

    return asyncio.run(run())


def _row(letter: DeadLetter) -> str:
    return f"{letter.call_id:<34} {letter.account_id:>8} {letter.attempts:>8}  {letter.failed_at:<32} {letter.error}"


@app.command("list")
def list_() -> None:
    """Print each dead-lettered job: call id, account, attempts, when it was given up on, and its last error."""
    letters = _with_redis(dead_letters)
    if not letters:
        typer.echo("no dead-lettered archive jobs")
        return
    typer.echo(f"{'CALL':<34} {'ACCOUNT':>8} {'ATTEMPTS':>8}  {'FAILED AT':<32} LAST ERROR")
    for letter in letters:
        typer.echo(_row(letter))


@app.command()
def retry(
    call_ids: Annotated[list[str] | None, typer.Argument(help="The calls to retry (as `outbox list` shows).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Retry every dead-lettered job.")] = False,
) -> None:
    """Put dead-lettered jobs back on the archive outbox; the workers pick them up within a second."""
    if all_ == bool(call_ids):
        raise typer.BadParameter("give either --all or one or more CALL_IDs")
    wanted = None if all_ else set(call_ids or ())

    async def work(redis: Redis) -> Any:
        return await retry_dead_letters(redis, call_ids=wanted)

    moved: list[DeadLetter] = _with_redis(work)
    for letter in moved:
        typer.echo(f"requeued {letter.call_id} (account {letter.account_id})")
    unknown = sorted((wanted or set()) - {letter.call_id for letter in moved})
    if unknown:
        typer.echo(f"error: not in the dead letter: {', '.join(unknown)}", err=True)
        raise typer.Exit(1)
    if not moved:
        typer.echo("no dead-lettered archive jobs")
