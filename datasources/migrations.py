"""Versioned schema migrations for the stores Alembic does not cover (MongoDB, the graph, Chroma).

Each store lists its `Migration`s in order (versions 1, 2, ...) and keeps the applied version in itself
(`Ledger`). `up` applies the pending ones in order, recording each as it lands; `down` undoes applied ones in
reverse down to a target. Every step is idempotent (creating what exists, dropping what is gone, are no-ops),
so two replicas starting at once, or a step interrupted before its version was recorded, are safe to repeat.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    up: Callable[[], Awaitable[None]]
    down: Callable[[], Awaitable[None]]


class Ledger(Protocol):
    """Where a store records its applied version (0: none)."""

    async def read(self) -> int: ...

    async def write(self, version: int) -> None: ...


@dataclass(frozen=True)
class Status:
    store: str
    applied: int
    versions: tuple[tuple[int, str], ...]

    @property
    def pending(self) -> list[tuple[int, str]]:
        return [(v, n) for v, n in self.versions if v > self.applied]

    @property
    def head(self) -> int:
        return self.versions[-1][0] if self.versions else 0


def _checked(migrations: Sequence[Migration]) -> Sequence[Migration]:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migration versions must run 1..n without gaps, got {versions}")
    return migrations


async def status(store: str, migrations: Sequence[Migration], ledger: Ledger) -> Status:
    return Status(store, await ledger.read(), tuple((m.version, m.name) for m in _checked(migrations)))


async def up(migrations: Sequence[Migration], ledger: Ledger, *, to: int | None = None) -> list[Migration]:
    """Applies the pending migrations up to `to` (default: all); returns those applied."""
    applied = await ledger.read()
    done = []
    for migration in _checked(migrations):
        if migration.version <= applied or (to is not None and migration.version > to):
            continue
        await migration.up()
        await ledger.write(migration.version)
        done.append(migration)
    return done


async def down(migrations: Sequence[Migration], ledger: Ledger, *, to: int) -> list[Migration]:
    """Undoes the applied migrations above `to`, newest first; returns those undone."""
    if to < 0:
        raise ValueError(f"to: must be 0 or more, got {to}")
    applied = await ledger.read()
    done = []
    for migration in reversed(_checked(migrations)):
        if migration.version > applied or migration.version <= to:
            continue
        await migration.down()
        await ledger.write(migration.version - 1)
        done.append(migration)
    return done
