"""Batched reads by id for the DataLoaders: one statement per table, whatever the batch size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from functools import cache
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Table, any_, bindparam, select

from datasources.postgres.engine import Database, DriverStatement


@cache
def by_ids(table: Table, record: type) -> DriverStatement:
    """A tenant's rows among `ids`, as the columns of `record` in its order (one array parameter: one prepared
    statement, where `IN` needs one per size)."""
    ids = bindparam("ids", type_=ARRAY(BigInteger))
    columns = [table.c[f.name] for f in fields(record)]
    return DriverStatement.of(
        select(*columns).where(table.c.account_id == bindparam("account_id"), table.c.id == any_(ids))
    )


async def rows_by_ids[R](
    db: Database, model: Any, *, account_id: int, ids: Sequence[int], record: type[R]
) -> list[R | None]:
    """One query for a batch of a tenant's rows: a record per id in id order, None where the tenant has none.
    `record` is a dataclass whose fields are columns of the model's table."""
    statement = by_ids(model.__table__, record)  # type: ignore[arg-type]  # a class is hashable
    rows = await db.fetch(statement, account_id=account_id, ids=list(ids))
    found = {row[0]: record(*row) for row in rows}  # `id` is every record's first field
    return [found.get(i) for i in ids]
