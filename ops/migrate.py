"""Schema migrations of every store: Alembic for PostgreSQL, versioned steps for MongoDB, the graph and Chroma
(`datasources.migrations`), each store recording its applied version in itself. `switchboard migrate
up|down|status` and the app on start (`AUTO_MIGRATE`) go through here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

from datasources import migrations as versioned
from datasources.graph import migrations as graph_migrations
from datasources.migrations import Ledger, Migration
from datasources.mongo import migrations as mongo_migrations
from datasources.stores import Stores
from datasources.vectors import migrations as vector_migrations

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def _alembic(engine: AsyncEngine, step: Callable[[Config, str], None], revision: str) -> None:
    """Runs in the caller's event loop on the app's own engine (env.py picks the connection up)."""

    def run(connection: object) -> None:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        step(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _alembic(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _alembic(engine, command.downgrade, revision)


async def current(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def read(connection: object) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()  # type: ignore[arg-type]

    async with engine.connect() as conn:
        return await conn.run_sync(read)


# -- every store ---------------------------------------------------------------------------------------------

STORES = ("postgresql", "mongodb", "neo4j", "chroma")  # Redis holds no schema: nothing to migrate


@dataclass(frozen=True)
class StoreStatus:
    store: str
    applied: str  # the applied version ("0" or "none": nothing applied)
    head: str
    pending: list[str]

    def line(self) -> str:
        waiting = ", ".join(self.pending) if self.pending else "none"
        return f"{self.store:11} applied {self.applied:6} head {self.head:6} pending: {waiting}"


def _versioned(stores: Stores) -> dict[str, tuple[list[Migration], Ledger]]:
    db = stores.mongo.client[stores.mongo.database]
    return {
        "mongodb": (mongo_migrations.migrations(db), mongo_migrations.MongoLedger(db)),
        "neo4j": (graph_migrations.migrations(stores.graph), graph_migrations.GraphLedger(stores.graph)),
        "chroma": (vector_migrations.migrations(stores.vectors), vector_migrations.VectorLedger(stores.vectors)),
    }


def _revisions() -> list[str]:
    """Alembic's revisions, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def status_all(stores: Stores) -> list[StoreStatus]:
    revisions = _revisions()
    applied = await current(stores.db.engine)
    done = revisions.index(applied) + 1 if applied in revisions else 0
    found = [StoreStatus("postgresql", applied or "none", revisions[-1], revisions[done:])]
    for store, (steps, ledger) in _versioned(stores).items():
        state = await versioned.status(store, steps, ledger)
        found.append(StoreStatus(store, str(state.applied), str(state.head),
                                 [f"{v} {name}" for v, name in state.pending]))
    return found


async def up_all(stores: Stores, *, only: str | None = None) -> list[str]:
    """Every store (or `only`) to its newest version; returns a line per migration applied."""
    done = []
    if only in (None, "postgresql"):
        before = await current(stores.db.engine)
        await upgrade(stores.db.engine)
        after = await current(stores.db.engine)
        if after != before:
            done.append(f"postgresql {before or 'none'} -> {after}")
    for store, (steps, ledger) in _versioned(stores).items():
        if only in (None, store):
            done += [f"{store} {m.version} {m.name}" for m in await versioned.up(steps, ledger)]
    return done


async def down_one(stores: Stores, store: str, *, to: str) -> list[str]:
    """Undoes `store`'s migrations above `to` (a version; for PostgreSQL an Alembic revision or "base")."""
    if store == "postgresql":
        before = await current(stores.db.engine)
        await downgrade(stores.db.engine, to)
        return [f"postgresql {before or 'none'} -> {await current(stores.db.engine) or 'base'}"]
    if store not in STORES:
        raise ValueError(f"store: one of {', '.join(STORES)}, got {store!r}")
    if not to.isdigit():
        raise ValueError(f"to: a version number for {store}, got {to!r}")
    steps, ledger = _versioned(stores)[store]
    return [f"{store} undid {m.version} {m.name}" for m in await versioned.down(steps, ledger, to=int(to))]
