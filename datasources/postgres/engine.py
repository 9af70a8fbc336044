"""The PostgreSQL engine: one pool, sessions for writes, and a cheaper path for reads.

A read needs no transaction: `read()` hands out a pooled connection in autocommit, so a query is one wire
round trip, where a session would add BEGIN and ROLLBACK around it. Reads run as Core statements whose rows
become records directly (the record functions read columns by name), without ORM instances.

There is no pre-ping on checkout (it cost BEGIN, `;` and ROLLBACK on every checkout): a connection the server
dropped fails its statement, SQLAlchemy recognises the disconnect and invalidates every older pooled
connection, so the next call opens fresh ones. One call fails (reported as the store's outage) instead of
every call paying a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from datasources.instrument import round_trip

SCHEMES = {"postgresql+asyncpg", "postgresql", "postgres"}


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # the same pool, each connection in autocommit while it is checked out
    reader: AsyncEngine

    def read(self) -> AsyncConnection:
        """`async with db.read() as conn`: a connection for reads, outside any transaction."""
        return self.reader.connect()

    async def close(self) -> None:
        await self.engine.dispose()


def normalise_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES:
        raise ValueError(f"POSTGRES_URL: unsupported scheme {scheme!r} (use postgresql:// or postgresql+asyncpg://)")
    return f"postgresql+asyncpg://{rest}"


def open_database(url: str, *, pool_size: int = 10, max_overflow: int = 10, echo: bool = False) -> Database:
    engine = create_async_engine(normalise_url(url), pool_size=pool_size, max_overflow=max_overflow, echo=echo)
    reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    return Database(engine, async_sessionmaker(engine, expire_on_commit=False), reader)


@round_trip("postgresql")
async def ping(db: Database) -> None:
    async with db.read() as conn:
        await conn.execute(text("SELECT 1"))
