from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from datasources.instrument import round_trip

SCHEMES = {"postgresql+asyncpg", "postgresql", "postgres"}


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def close(self) -> None:
        await self.engine.dispose()


def normalise_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES:
        raise ValueError(f"POSTGRES_URL: unsupported scheme {scheme!r} (use postgresql:// or postgresql+asyncpg://)")
    return f"postgresql+asyncpg://{rest}"


def open_database(url: str, *, pool_size: int = 10, echo: bool = False) -> Database:
    engine = create_async_engine(normalise_url(url), pool_size=pool_size, pool_pre_ping=True, echo=echo)
    return Database(engine, async_sessionmaker(engine, expire_on_commit=False))


@round_trip("postgresql")
async def ping(db: Database) -> None:
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
