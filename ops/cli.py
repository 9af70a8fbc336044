"""`switchboard`: serve, migrate, seed, check and export-schema."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Annotated, Any

import typer

from ops.settings import Settings

app = typer.Typer(help="Switchboard: one GraphQL API over five stores.", no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder for the embedded stores' data (default ./.switchboard)."),
]


def _settings(data_dir: Path | None = None) -> Settings:
    settings = Settings()
    if data_dir is not None:
        settings.data_dir = data_dir
    return settings


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDir = None,
    reload: Annotated[bool, typer.Option(help="Development: restart the API when a Python file changes; the "
                                              "embedded stores keep running.")] = False,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes behind the one port; the embedded stores, "
                                                     "migrations and demo data start once, before them.")] = 1,
) -> None:
    """Start the API. Stores without a URL in the environment run embedded under the data folder."""
    import uvicorn

    from ops.app import create_app
    from ops.logging import configure

    settings = _settings(data_dir)
    configure(settings.log_level, json=settings.profile.json_logs or not sys.stderr.isatty(), pid=workers > 1 or reload)
    embedded = [
        name for name, url in (("PostgreSQL", settings.postgres_url), ("MongoDB", settings.mongodb_uri),
                               ("Neo4j", settings.neo4j_uri), ("Redis", settings.redis_url),
                               ("Chroma", settings.chroma_url)) if not url
    ]
    if embedded:
        typer.echo(f"Embedded stores under {settings.data_dir.resolve()}: {', '.join(embedded)}", err=True)
    typer.echo(f"GraphiQL: http://{host}:{port}/graphql  (health: /health, metrics: /metrics)", err=True)
    if "SIMULATOR_TARGET" not in os.environ:
        # the simulated carrier posts its webhooks back to this server
        settings.simulator_target = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    access_log = settings.access_log or settings.log_level.upper() == "DEBUG"
    if reload and workers > 1:
        typer.echo("error: --reload runs one worker; leave --workers out", err=True)
        raise typer.Exit(2)
    if workers > 1 or reload:
        from ops.workers import serve_workers

        typer.echo(f"{workers} workers on port {port}" if workers > 1 else "reloading on code changes", err=True)
        raise typer.Exit(serve_workers(settings, host=host, port=port, workers=workers, reload=reload,
                                       access_log=access_log))
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, lifespan="on", ws="websockets-sansio",
                ws_per_message_deflate=settings.ws_per_message_deflate, access_log=access_log)


def _run(settings: Settings, work):  # noqa: ANN001, ANN202
    """Runs `work(stores)` over freshly opened stores; a misconfigured store URL is a one-line error."""
    try:
        return asyncio.run(_with_stores(settings, work))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


async def _with_stores(settings: Settings, work):  # noqa: ANN001, ANN202
    from ops.stores import open_all

    async with AsyncExitStack() as exits:
        stores, _ = await open_all(settings, exits)
        return await work(stores)


@app.command()
def migrate(
    action: Annotated[str, typer.Argument(help="up (default), down or status.")] = "up",
    store: Annotated[str | None, typer.Option(help="One store: postgresql, mongodb, neo4j or chroma.")] = None,
    to: Annotated[str | None, typer.Option(help="down: the version to go back to (PostgreSQL: a revision or base).")]
    = None,
    data_dir: DataDir = None,
) -> None:
    """Schema migrations of every store: apply (up), undo (down --store S --to V) or list (status)."""
    from ops import migrate as migrations

    if action not in ("up", "down", "status"):
        typer.echo(f"error: action: up, down or status, got {action!r}", err=True)
        raise typer.Exit(2)
    if store is not None and store not in migrations.STORES:
        typer.echo(f"error: --store: one of {', '.join(migrations.STORES)}, got {store!r}", err=True)
        raise typer.Exit(2)
    if action == "down" and (store is None or to is None):
        typer.echo("error: down needs --store and --to (the version to go back to)", err=True)
        raise typer.Exit(2)

    async def work(stores):  # noqa: ANN001, ANN202
        if action == "up":
            done = await migrations.up_all(stores, only=store)
            lines = done or ["nothing to apply: every store is at its newest version"]
        elif action == "down":
            lines = await migrations.down_one(stores, str(store), to=str(to)) or ["nothing to undo"]
        else:
            lines = []
        return lines + [s.line() for s in await migrations.status_all(stores) if store in (None, s.store)]

    for line in _run(_settings(data_dir), work):
        typer.echo(line)


@app.command()
def seed(
    data_dir: DataDir = None,
    leads: Annotated[int, typer.Option(help="Leads in the main demo account.")] = 300,
) -> None:
    """Replace the demo accounts in every store with fresh demo data."""
    from ops import migrate as migrations
    from ops.demo_users import describe, write_credentials
    from ops.seed import seed_demo

    settings = _settings(data_dir)
    if settings.profile.secrets_required:
        typer.echo(f"error: demo data (and its published demo passwords) is refused in {settings.environment.value}",
                   err=True)
        raise typer.Exit(2)

    async def work(stores):  # noqa: ANN001, ANN202
        await migrations.up_all(stores)
        return await seed_demo(stores, leads=leads, progress=lambda line: typer.echo(line, err=True))

    ids, credentials = _run(settings, work)
    path = write_credentials(settings.data_dir, credentials)
    typer.echo(f"Seeded demo accounts {ids}")
    typer.echo(describe(credentials, path))


@app.command()
def check(
    data_dir: DataDir = None,
    config: Annotated[bool, typer.Option("--config", help="Only validate the configuration; start nothing.")] = False,
) -> None:
    """Ping every store; exit 0 when all answer, 1 otherwise. With --config: list every configuration problem."""
    if config:
        from ops.config_check import configuration_problems

        problems = configuration_problems()
        for problem in problems:
            typer.echo(f"problem: {problem}")
        if not problems:
            typer.echo(f"configuration valid for {Settings().environment.value}")
        raise typer.Exit(1 if problems else 0)
    from ops.health import check_all

    checks = _run(_settings(data_dir), check_all)
    for c in checks:
        typer.echo(f"{c.store:<11} {'up' if c.up else 'DOWN':<5} {c.latency_ms:8.2f} ms  {c.error or ''}")
    raise typer.Exit(0 if all(c.up for c in checks) else 1)


def _postgres_url(settings: Settings) -> str:
    """The configured PostgreSQL, or the embedded one under the data folder (started for this command)."""
    if settings.postgres_url:
        return settings.postgres_url
    from ops.embedded.postgres import start_postgres

    server = start_postgres(settings.data_dir / "postgres")
    import atexit

    atexit.register(server.stop)
    return server.url


def _secret_once(work: Coroutine[Any, Any, Any]) -> None:
    """Runs a tenant command and prints what it made, its secret once; a refusal is a one-line error."""
    try:
        created = asyncio.run(work)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"account {created.account_slug}: {created.role} {created.email}")
    if created.password:
        typer.echo(f"password (shown once): {created.password}")
    if created.invite_token:
        typer.echo(f"invitation token (shown once; spend it with acceptInvite): {created.invite_token}")


@app.command("create-account")
def create_account(
    name: Annotated[str, typer.Argument(help="The account's name, e.g. 'Acme Logistics'.")],
    owner_email: Annotated[str, typer.Option("--owner-email", help="Email of the account's owner.")],
    owner_name: Annotated[str, typer.Option("--owner-name", help="The owner's full name.")] = "",
    slug: Annotated[str | None, typer.Option(help="Short unique name (default: from NAME).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an account (tenant) and its owner; prints the owner's password once."""
    from ops.tenants import create_account as create

    settings = _settings(data_dir)
    _secret_once(create(_postgres_url(settings), name=name, owner_email=owner_email, owner_name=owner_name,
                        slug=slug))


@app.command("create-user")
def create_user(
    account: Annotated[str, typer.Option(help="The account's slug.")],
    email: Annotated[str, typer.Option(help="The new user's email.")],
    role: Annotated[str, typer.Option(help="owner, admin, manager, agent, dispatcher, driver or viewer.")] = "agent",
    name: Annotated[str, typer.Option(help="The user's full name.")] = "",
    invite: Annotated[bool, typer.Option(help="Print an invitation token instead of a password.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Create a user in an account; prints a password (or with --invite an invitation token) once."""
    from ops.tenants import create_user as create
    from resolvers.principal import Role

    if role not in Role.__members__:
        typer.echo(f"error: --role must be one of {', '.join(Role)}", err=True)
        raise typer.Exit(2)
    settings = _settings(data_dir)
    _secret_once(create(
        _postgres_url(settings), account_slug=account, email=email, role=Role(role), full_name=name,
        invite=invite, invite_days=settings.invite_expires_in.total_seconds() / 86400,
    ))


@app.command("export-schema")
def export_schema(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the GraphQL schema (SDL)."""
    from schema.root import build_schema

    sdl = build_schema().as_str() + "\n"
    if output is None:
        sys.stdout.write(sdl)
    else:
        output.write_text(sdl)


def _register_simulate() -> None:
    from ops.simulate import app as simulate

    app.add_typer(simulate, name="simulate")


_register_simulate()


def _register_documents() -> None:
    from ops.documents_cli import app as documents

    app.add_typer(documents, name="documents")


_register_documents()


def _register_outbox() -> None:
    from ops.outbox_cli import app as outbox

    app.add_typer(outbox, name="outbox")


_register_outbox()


def _register_reconcile() -> None:
    from ops.reconcile_cli import main as reconcile

    app.command("reconcile")(reconcile)


_register_reconcile()


def _register_backup() -> None:
    from ops.backup_cli import backup, restore

    app.command("backup")(backup)
    app.command("restore")(restore)


_register_backup()


def _register_solve() -> None:
    from fleet.solve_cli import main as solve

    app.command("solve")(solve)


_register_solve()


if __name__ == "__main__":
    app()
