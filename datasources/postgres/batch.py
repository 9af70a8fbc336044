from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select

from datasources.postgres.engine import Database


async def rows_by_ids[R](
    db: Database, model: Any, *, account_id: int, ids: Sequence[int], record: Callable[[Any], R]
) -> list[R | None]:
    """One `IN` for a batch of a tenant's rows: a record per id in id order, None where the tenant has none."""
    async with db.sessions() as session:
        rows = await session.scalars(select(model).where(model.account_id == account_id, model.id.in_(ids)))
        found = {row.id: record(row) for row in rows}
    return [found.get(i) for i in ids]
