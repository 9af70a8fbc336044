"""`switchboard reconcile [--account SLUG] [--repair]`: the drift of Chroma and the graph from MongoDB, per account."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Annotated

import typer

from datasources.stores import Stores
from ops import reconcile
from ops.settings import Settings
from resolvers.leads.drift import Drift, Kind, Store

SHOWN = 5  # ids printed per store and kind


def describe(slug: str, drift: Drift) -> list[str]:
    """One line per store: `SLUG STORE missing N stale N orphaned N` and the first ids of each kind."""
    lines = []
    for store in Store:
        found = drift.of(store)
        counts = "  ".join(f"{kind} {len(found.ids(kind))}" for kind in Kind)
        shown = "; ".join(
            f"{kind}: {' '.join(found.ids(kind)[:SHOWN])}{' ...' if len(found.ids(kind)) > SHOWN else ''}"
            for kind in Kind if found.ids(kind)
        )
        lines.append(f"{slug} {store} {counts}" + (f"  | {shown}" if shown else ""))
    return lines


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    if sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("repairing", total=total)
            yield lambda n: bar.advance(task, n)
        return
    done = 0

    def log(n: int) -> None:
        nonlocal done
        done += n
        typer.echo(f"repaired {done}/{total}", err=True)

    yield log


async def _reconcile(stores: Stores, slug: str | None, repair: bool) -> bool:
    """Prints the drift (and repairs it); True when none remains."""
    accounts = await reconcile.accounts(stores.db, slug=slug)
    if slug is not None and not accounts:
        typer.echo(f"error: no account with slug {slug!r}", err=True)
        raise typer.Exit(2)
    clean = True
    for account in accounts:
        drift = await reconcile.check_account(stores, account.id)
        for line in describe(account.slug, drift):
            typer.echo(line)
        if drift and repair:
            with _progress(reconcile.to_repair(drift)) as advance:
                await reconcile.repair_account(stores, account.id, drift, advance=advance)
            drift = await reconcile.check_account(stores, account.id)
            for line in describe(account.slug, drift):
                typer.echo(f"after repair: {line}")
        clean = clean and not drift
    typer.echo("no drift" if clean else "drift remains")
    return clean


async def _with_stores(settings: Settings, slug: str | None, repair: bool) -> bool:
    from ops.stores import open_all

    async with AsyncExitStack() as exits:
        stores, _ = await open_all(settings, exits)
        return await _reconcile(stores, slug, repair)


def main(
    account: Annotated[str | None, typer.Option("--account", help="Only this account (its slug).")] = None,
    repair: Annotated[bool, typer.Option("--repair", help="Upsert missing and stale leads, delete orphans.")] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Folder for the embedded stores' data (default ./.switchboard).")
    ] = None,
) -> None:
    """Print each account's missing, stale and orphaned leads per store; exit 1 while drift remains."""
    settings = Settings()
    if data_dir is not None:
        settings.data_dir = data_dir
    try:
        clean = asyncio.run(_with_stores(settings, account, repair))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    raise typer.Exit(0 if clean else 1)
