"""`switchboard backup [--out DIR] [--keep N]`, `switchboard backup --verify ARCHIVE` and
`switchboard restore ARCHIVE [--yes]`. A refused archive exits with 2 and changes nothing."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from datasources.postgres.native import ToolFailed
from ops import backup_archive as archive
from ops.backup_archive import STORES, ArchiveError
from ops.settings import Settings

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder for the embedded stores' data (default ./.switchboard).")
]


class _Lines:
    """A plain log line per store when there is no terminal."""

    def start(self, store: str) -> None:
        pass

    def done(self, store: str, line: str) -> None:
        typer.echo(line, err=True)


class _Bar:
    def __init__(self, bar: Any, verb: str) -> None:
        self._bar = bar
        self._verb = verb
        self._task = bar.add_task(verb, total=len(STORES))

    def start(self, store: str) -> None:
        self._bar.update(self._task, description=f"{self._verb} {store}")

    def done(self, store: str, line: str) -> None:
        self._bar.console.print(line)
        self._bar.advance(self._task)


@contextmanager
def _reporter(verb: str) -> Iterator[_Lines | _Bar]:
    if sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            yield _Bar(bar, verb)
        return
    yield _Lines()


def _settings(data_dir: Path | None) -> Settings:
    settings = Settings()
    if data_dir is not None:
        settings.data_dir = data_dir
    return settings


async def _with_stores(settings: Settings, work: Any) -> Any:
    from ops.stores import open_all

    async with AsyncExitStack() as exits:
        stores, _ = await open_all(settings, exits)
        return await work(stores)


def _refuse(exc: Exception) -> typer.Exit:
    typer.echo(f"refused: {exc}; nothing was changed", err=True)
    return typer.Exit(2)


def _read(path: Path, into: Path | None = None) -> archive.Manifest:
    try:
        return archive.read(path, into)
    except ArchiveError as exc:
        raise _refuse(exc) from None


def backup(
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the archive (default DATA_DIR/backups).")]
    = None,
    keep: Annotated[int | None, typer.Option("--keep", min=1, help="Then delete all but the newest N archives.")]
    = None,
    verify: Annotated[Path | None, typer.Option("--verify", help="Only check this archive; back nothing up.")]
    = None,
    pg_dump: Annotated[bool, typer.Option(help="Dump PostgreSQL with pg_dump where one of the server's version is "
                                               "installed (else through the driver).")] = True,
    data_dir: DataDir = None,
) -> None:
    """Write one timestamped archive of all five stores (or with --verify check one)."""
    if verify is not None:
        manifest = _read(verify)
        typer.echo(f"{verify}: valid, format {manifest.format}, created {manifest.created_at}")
        typer.echo("schema: " + ", ".join(f"{k} {v}" for k, v in manifest.schema.items()))
        from ops.backup import describe

        for store, member in manifest.members.items():
            typer.echo(describe(store, member))
        return
    from ops.backup import backup as run

    settings = _settings(data_dir)
    folder = out or settings.data_dir / "backups"

    async def work(stores: Any) -> tuple[Path, archive.Manifest]:
        with _reporter("backing up") as reporter:
            return await run(stores, folder, reporter, pg_dump=pg_dump)

    try:
        path, manifest = asyncio.run(_with_stores(settings, work))
    except (ValueError, ToolFailed) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    size = path.stat().st_size
    typer.echo(f"wrote {path} ({size} bytes, {sum(m.seconds for m in manifest.members.values()):.2f} s)")
    if keep is not None:
        for old in archive.prune(folder, keep):
            typer.echo(f"pruned {old}")


def restore(
    path: Annotated[Path, typer.Argument(help="The archive to restore.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Replace the data of every store with an archive's, after checking it; then verify the result."""
    from ops.backup import check_schema
    from ops.backup import restore as run

    settings = _settings(data_dir)
    with tempfile.TemporaryDirectory(prefix="switchboard-restore-") as members:
        manifest = _read(path, Path(members))

        async def work(stores: Any) -> list[str]:
            await check_schema(stores, manifest)
            if not yes and not typer.confirm(
                f"Replace the data of every store with {path.name} (created {manifest.created_at})?"
            ):
                raise typer.Exit(1)
            with _reporter("restoring") as reporter:
                return await run(stores, Path(members), manifest, reporter)

        try:
            problems = asyncio.run(_with_stores(settings, work))
        except ArchiveError as exc:
            raise _refuse(exc) from None
        except ToolFailed as exc:
            typer.echo(f"restore failed: {exc}; PostgreSQL's data was not loaded (restore again)", err=True)
            raise typer.Exit(1) from None
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    for problem in problems:
        typer.echo(f"verification failed: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"restored {path}: every store verified against the manifest; "
               "run `switchboard reconcile --repair` if projections lag the records")
