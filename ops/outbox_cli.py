"""`switchboard outbox list|retry`: the outboxes' dead letters. `archive`: ended calls whose archive failed
`ARCHIVE_MAX_ATTEMPTS` times; `commands`: the agent's carrier commands and lead facts that failed
`COMMAND_MAX_ATTEMPTS` times."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
import typer
from redis.asyncio import Redis

from datasources.redis import open_redis
from datasources.redis.outbox import OUTBOXES, DeadLetter, Outbox
from ops.settings import Settings

app = typer.Typer(
    help="The outboxes' dead letters: ended calls whose archive kept failing (archive), the agent's commands and "
         "lead facts that kept failing (commands).",
    no_args_is_help=True,
)
NOUNS = {"archive": "archive jobs", "commands": "agent commands"}

Which = Annotated[
    str | None, typer.Option("--outbox", help=f"Only this outbox: {' or '.join(OUTBOXES)} (default: every one).")
]


def _outboxes(name: str | None) -> list[Outbox]:
    if name is None:
        return list(OUTBOXES.values())
    if name not in OUTBOXES:
        raise typer.BadParameter(f"no outbox {name!r}: {' or '.join(OUTBOXES)}", param_hint="--outbox")
    return [OUTBOXES[name]]


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


def _what(letter: DeadLetter) -> str:
    """A command job's kind, step and command id; a facts job's lead."""
    f = letter.fields
    if f.get("kind") == "command":
        try:
            command = orjson.loads(f.get("command", "{}"))
            return f"{command['kind']} ({command['step']}) {command['command_id']}"
        except (ValueError, KeyError, TypeError):
            return "command (unreadable)"
    if f.get("kind") == "facts":
        return f"facts of lead {f.get('lead_id', '?')}"
    return "archive"


def _row(letter: DeadLetter) -> str:
    return (f"{letter.outbox:<9} {letter.call_id:<34} {letter.account_id:>8} {letter.attempts:>8}  "
            f"{letter.failed_at:<32} {_what(letter):<40} {letter.error}")


@app.command("list")
def list_(outbox: Which = None) -> None:
    """Print each dead-lettered job: outbox, call id, account, attempts, when it was given up on, what it is
    (a command's kind, step and command id), and its last error."""
    chosen = _outboxes(outbox)

    async def work(redis: Redis) -> Any:
        return [(o, await o.dead_letters(redis)) for o in chosen]

    found: list[tuple[Outbox, list[DeadLetter]]] = _with_redis(work)
    letters = [letter for _, some in found for letter in some]
    for o, some in found:
        if not some:
            typer.echo(f"no dead-lettered {NOUNS[o.name]}")
    if not letters:
        return
    typer.echo(f"{'OUTBOX':<9} {'CALL':<34} {'ACCOUNT':>8} {'ATTEMPTS':>8}  {'FAILED AT':<32} {'WHAT':<40} LAST ERROR")
    for letter in letters:
        typer.echo(_row(letter))


@app.command()
def retry(
    call_ids: Annotated[list[str] | None, typer.Argument(help="The calls to retry (as `outbox list` shows).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Retry every dead-lettered job.")] = False,
    outbox: Which = None,
) -> None:
    """Put dead-lettered jobs back on their outbox; the workers pick them up within seconds. A command keeps its
    command id, so a carrier that took it after all drops it."""
    if all_ == bool(call_ids):
        raise typer.BadParameter("give either --all or one or more CALL_IDs")
    wanted = None if all_ else set(call_ids or ())
    chosen = _outboxes(outbox)

    async def work(redis: Redis) -> Any:
        return [letter for o in chosen for letter in await o.retry(redis, call_ids=wanted)]

    moved: list[DeadLetter] = _with_redis(work)
    for letter in moved:
        typer.echo(f"requeued {letter.call_id} (account {letter.account_id}) on the {letter.outbox} outbox")
    unknown = sorted((wanted or set()) - {letter.call_id for letter in moved})
    if unknown:
        typer.echo(f"error: not in the dead letter: {', '.join(unknown)}", err=True)
        raise typer.Exit(1)
    if not moved:
        typer.echo("no dead-lettered jobs")
