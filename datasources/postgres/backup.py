"""PostgreSQL rows as JSON records, and back: every table of the models' metadata (alembic_version is the
schema's, not data), dumped in primary-key order so the same data always gives the same bytes."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from datasources.postgres.models import Base

BATCH = 500


def tables() -> list[Table]:
    """Parents before children: the order rows can be inserted in."""
    return list(Base.metadata.sorted_tables)


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def _python_type(column: Any) -> type | None:
    try:
        return column.type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return None


def _decoder(table: Table) -> dict[str, Any]:
    parse: dict[type, Any] = {
        dt.datetime: dt.datetime.fromisoformat, dt.date: dt.date.fromisoformat, dt.time: dt.time.fromisoformat,
        Decimal: Decimal, bytes: bytes.fromhex,
    }
    return {c.name: parse[t] for c in table.columns if (t := _python_type(c)) in parse}


def count_key(record: dict[str, Any]) -> str:
    return str(record["table"])


async def snapshot(conn: AsyncConnection) -> None:
    """Makes the connection's transaction one read-only snapshot, so every table is read as of one moment."""
    await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))


async def rows(conn: AsyncConnection) -> AsyncIterator[dict[str, Any]]:
    """`{"table": name, "row": {column: value}}` per row, table by table in primary-key order."""
    for table in tables():
        order = list(table.primary_key.columns) or list(table.columns)
        result = await conn.stream(select(table).order_by(*order))
        async for row in result:
            yield {"table": table.name, "row": {k: _encode(v) for k, v in row._mapping.items()}}


async def dump(engine: AsyncEngine) -> AsyncIterator[dict[str, Any]]:
    async with engine.connect() as conn:
        await snapshot(conn)
        async for record in rows(conn):
            yield record


async def wipe(engine: AsyncEngine) -> None:
    names = ", ".join(f'"{t.name}"' for t in tables())
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


async def load(engine: AsyncEngine, records: Iterable[dict[str, Any]]) -> None:
    """Inserts the rows (expected in `tables()` order), then resets the id sequences."""
    by_name = {t.name: t for t in tables()}
    decoders = {name: _decoder(t) for name, t in by_name.items()}
    async with engine.begin() as conn:
        batch: list[dict[str, Any]] = []
        current: str | None = None

        async def flush() -> None:
            if batch and current is not None:
                await conn.execute(by_name[current].insert(), batch)
            batch.clear()

        for record in records:
            name = record["table"]
            if name not in by_name:
                raise ValueError(f"the archive holds rows of an unknown table {name!r}")
            if name != current or len(batch) >= BATCH:
                await flush()
                current = name
            parse = decoders[name]
            batch.append({k: (parse[k](v) if v is not None and k in parse else v) for k, v in record["row"].items()})
        await flush()
        await reset_sequences(conn)


async def reset_sequences(conn: AsyncConnection) -> None:
    """Moves each id sequence past the largest id, so rows inserted after a restore get fresh ids."""
    for table in tables():
        if "id" in table.columns and _python_type(table.columns["id"]) is int:
            sequence = (await conn.execute(select(func.pg_get_serial_sequence(table.name, "id")))).scalar()
            if sequence:
                await conn.execute(text(
                    f'SELECT setval(:seq, coalesce((SELECT max(id) FROM "{table.name}"), 1), '
                    f'(SELECT max(id) IS NOT NULL FROM "{table.name}"))'
                ), {"seq": sequence})
