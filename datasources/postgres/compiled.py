"""A whole fleet read as one statement: the routes (and vehicles, and the caller's account) a query asks for,
with their drivers, vehicles and stops, as one JSON value built by PostgreSQL (`json_build_array`, `json_agg` and
correlated subqueries), as PostGraphile compiles an operation.

The caller describes what to read (`Obj`: columns and relations of a table, in the order it wants them back);
each object comes back as a JSON array of those values, a to-many relation as an array of such arrays. Every
table read is scoped to the caller's account, and, for a driver (`driver_scope`), every read of routes to the
driver's own, as the loaders scope them (resolvers/loaders.py). A timestamp comes back in UTC without its offset.
Statements are built (SQLAlchemy Core) and compiled once per shape; values are bind parameters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    DateTime,
    FromClause,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import aggregate_order_by

from datasources.coalesce import Coalescer, settled
from datasources.instrument import round_trip
from datasources.outage import UNREACHABLE
from datasources.postgres.engine import Database, DriverStatement
from datasources.postgres.models import Account, Route, Stop, User, Vehicle

TABLES: dict[str, Table] = {
    m.__tablename__: m.__table__ for m in (Account, Route, Stop, User, Vehicle)  # type: ignore[misc]
}
MAX_VALUES = 100  # PostgreSQL's limit on a function's arguments (json_build_array)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rel:
    """A relation followed from a row: `driver`, `vehicle`, `stops` of a route, `route` of a stop."""

    name: str
    obj: Obj


@dataclass(frozen=True)
class Obj:
    """Columns (by name) and relations of a row of `table`, in the order of the array it becomes."""

    table: str
    items: tuple[str | Rel, ...]


@dataclass(frozen=True)
class RouteById:
    obj: Obj


@dataclass(frozen=True)
class AccountRow:
    """The caller's own account."""

    obj: Obj


@dataclass(frozen=True)
class Page:
    """Rows `[id, *objs]` of `table` (routes, vehicles) in id order, `limit + 1` of them at most (one array per
    obj: the same row selected under several aliases); which of the optional filters are bound."""

    table: str
    objs: tuple[Obj, ...]
    after: bool = False
    status: bool = False
    on: bool = False
    driver: bool = False


type Root = RouteById | AccountRow | Page
type Join = Callable[[FromClause, FromClause], ColumnElement[bool]]

# (parent table, relation) -> (child table, to-many, join (parent, child), order of a to-many)
RELATIONS: dict[tuple[str, str], tuple[str, bool, Join, str | None]] = {
    ("routes", "driver"): ("users", False, lambda p, c: c.c.id == p.c.driver_id, None),
    ("routes", "vehicle"): ("vehicles", False, lambda p, c: c.c.id == p.c.vehicle_id, None),
    ("routes", "stops"): ("stops", True, lambda p, c: c.c.route_id == p.c.id, "sequence"),
    ("stops", "route"): ("routes", False, lambda p, c: c.c.id == p.c.route_id, None),
}


def _scope(table: str, t: FromClause, driver_scope: bool) -> list[ColumnElement[bool]]:
    owner = t.c.id if table == "accounts" else t.c.account_id
    where = [owner == bindparam("account_id", type_=BigInteger)]
    if driver_scope and table == "routes":
        where.append(t.c.driver_id == bindparam("scope_driver", type_=BigInteger))
    return where


def _column(t: FromClause, name: str) -> ColumnElement[Any]:
    column = t.c[name]
    if isinstance(column.type, DateTime) and column.type.timezone:
        return func.timezone(literal_column("'UTC'"), column)
    return column  # type: ignore[no-any-return]


def _object(obj: Obj, t: FromClause, driver_scope: bool) -> ColumnElement[Any]:
    if len(obj.items) > MAX_VALUES:
        raise ValueError(f"an object of {len(obj.items)} values, over {MAX_VALUES}")
    return func.json_build_array(*(
        _column(t, item) if isinstance(item, str) else _related(obj.table, item, t, driver_scope)
        for item in obj.items
    ))


def _related(table: str, rel: Rel, parent: FromClause, driver_scope: bool) -> ColumnElement[Any]:
    child_table, many, join, order = RELATIONS[(table, rel.name)]
    assert rel.obj.table == child_table
    child = TABLES[child_table].alias()
    where = [join(parent, child), *_scope(child_table, child, driver_scope)]
    value = _object(rel.obj, child, driver_scope)
    if not many:
        return select(value).where(*where).scalar_subquery()
    assert order is not None
    rows = func.coalesce(func.json_agg(aggregate_order_by(value, child.c[order])), literal_column("'[]'::json"))
    return select(rows).where(*where).scalar_subquery()


def _root(i: int, root: Root, driver_scope: bool) -> ColumnElement[Any]:
    if isinstance(root, RouteById):
        r = TABLES["routes"].alias()
        return (select(_object(root.obj, r, driver_scope))
                .where(r.c.id == bindparam(f"id_{i}", type_=BigInteger), *_scope("routes", r, driver_scope))
                .scalar_subquery())
    if isinstance(root, AccountRow):
        a = TABLES["accounts"].alias()
        return select(_object(root.obj, a, driver_scope)).where(*_scope("accounts", a, driver_scope)).scalar_subquery()
    t = TABLES[root.table]
    assert all(obj.table == root.table for obj in root.objs)
    query = select(t).where(*_scope(root.table, t, driver_scope)).order_by(t.c.id)
    query = query.limit(bindparam(f"limit_{i}", type_=Integer))
    if root.after:
        query = query.where(t.c.id > bindparam(f"after_{i}", type_=BigInteger))
    if root.status:
        query = query.where(t.c.status == bindparam(f"status_{i}", type_=String))
    if root.on:
        query = query.where(t.c.date == bindparam(f"on_{i}", type_=Date))
    if root.driver:
        query = query.where(t.c.driver_id == bindparam(f"driver_{i}", type_=BigInteger))
    page = query.subquery()
    if len(root.objs) >= MAX_VALUES:
        raise ValueError(f"{len(root.objs)} selections of a page's routes, over {MAX_VALUES - 1}")
    row = func.json_build_array(page.c.id, *(_object(obj, page, driver_scope) for obj in root.objs))
    return select(func.json_agg(aggregate_order_by(row, page.c.id))).scalar_subquery()


def statement(roots: tuple[Root, ...], driver_scope: bool) -> Any:
    """One SELECT of one JSON array: each root's value in order (a route's array or null, a page's rows or
    null when empty)."""
    return select(cast(func.json_build_array(*(_root(i, r, driver_scope) for i, r in enumerate(roots))), Text))


@lru_cache(maxsize=512)
def prepared(roots: tuple[Root, ...], driver_scope: bool) -> DriverStatement:
    """The statement, built and compiled once per shape."""
    return DriverStatement.of(statement(roots, driver_scope))


@lru_cache(maxsize=512)
def prepared_many(roots: tuple[Root, ...], driver_scope: bool) -> DriverStatement | None:
    """The statement for several callers at once: the one-caller statement run LATERAL once per row of an unnest
    of its parameters' arrays (`<name>s`), in the callers' order. None when a parameter's type is not one an
    array is made of here (each caller then reads on their own)."""
    one = prepared(roots, driver_scope)
    types: dict[int, str] = {}

    def column(found: re.Match[str]) -> str:
        types[int(found[1])] = found[2]
        return f"p.v{found[1]}"

    body = _PARAM.sub(column, one.sql)
    if "$" in body or sorted(types) != list(range(1, len(one.params) + 1)) or set(types.values()) - ARRAYS:
        return None
    arrays = ", ".join(f"${k}::{types[k]}[]" for k in sorted(types))
    names = ", ".join(f"v{k}" for k in sorted(types))
    sql = (f"SELECT q.v FROM unnest({arrays}) WITH ORDINALITY AS p({names}, i) "
           f"CROSS JOIN LATERAL ({body}) AS q(v) ORDER BY p.i")
    return DriverStatement(sql, tuple(f"{name}s" for name in one.params))


ARRAYS = {"BIGINT", "INTEGER", "VARCHAR", "DATE"}  # the parameters' types (bound as `$n::TYPE`)
_PARAM = re.compile(r"\$(\d+)::(\w+)")


@dataclass(frozen=True)
class _Read:
    values: dict[str, Any]


async def _read_together(key: Hashable, reads: list[_Read]) -> list[Any]:
    """The reads of one turn that share a statement, in one round trip; alone, or on a failure that is not an
    outage, each in its own (so one caller's failure stays its own)."""
    db: Database
    roots: tuple[Root, ...]
    driver_scope: bool
    db, roots, driver_scope = key  # type: ignore[misc]
    one = prepared(roots, driver_scope)
    many = prepared_many(roots, driver_scope) if len(reads) > 1 else None
    if many is not None:
        arrays = {f"{name}s": [read.values[name] for read in reads] for name in one.params}
        try:
            return [row[0] for row in await db.fetch(many, **arrays)]
        except UNREACHABLE + (sa_exc.DisconnectionError,):
            raise
        except Exception:
            log.warning("a batch of compiled reads failed; reading them one by one", exc_info=True)
    return [await settled(_first(db.fetch(one, **read.values))) for read in reads]


async def _first(rows: Awaitable[list[Any]]) -> Any:
    return (await rows)[0][0]


_reads = Coalescer[_Read](_read_together)


@round_trip("postgresql")
async def read(db: Database, *, account_id: int, driver_id: int | None, roots: tuple[Root, ...],
               params: Mapping[str, Any]) -> str:
    """The roots' JSON text. `driver_id`: the driver whose routes alone may be read (None: every route of the
    account). `params`: `id_<i>` of a by-id root, `limit_<i>` and its bound filters of a page. Runs on the
    driver's connection (`Database.fetch`), compiled once per shape; the reads of one turn of the event loop
    with the same shape run as one statement (`prepared_many`, datasources/coalesce.py), each still counted as
    the round trip it waited for."""
    values = {"account_id": account_id, **params}
    if driver_id is not None:
        values["scope_driver"] = driver_id
    found = await _reads.call((db, roots, driver_id is not None), _Read(values))
    assert isinstance(found, str)
    return found
