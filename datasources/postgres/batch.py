"""Batched reads by id for the DataLoaders: one statement per table, whatever the batch size."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Select, Table, any_, bindparam, select

from datasources.postgres.engine import Database


@cache
def by_ids(table: Table) -> Select[Any]:
    """A tenant's rows among `ids` (one array parameter: one prepared statement, where `IN` needs one per size)."""
    ids = bindparam("ids", type_=ARRAY(BigInteger))
    return select(table).where(table.c.account_id == bindparam("account_id"), table.c.id == any_(ids))


async def rows_by_ids[R](
    db: Database, model: Any, *, account_id: int, ids: Sequence[int], record: Callable[[Any], R]
) -> list[R | None]:
    """One query for a batch of a tenant's rows: a record per id in id order, None where the tenant has none."""
    async with db.read() as conn:
        rows = await conn.execute(by_ids(model.__table__), {"account_id": account_id, "ids": list(ids)})
        found = {row.id: record(row) for row in rows}
    return [found.get(i) for i in ids]
