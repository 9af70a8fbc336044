"""Shaping a compiled statement's decoded JSON into the response's data: one small function per field, made
once per plan, so an answer is a walk over arrays into dicts in the selection's order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from resolvers.compiled.fields import Unconvertible
from resolvers.pagination import encode_cursor

type Row = list[Any]
type Shape = Callable[[Any], Any]  # a decoded JSON value (a row, a page's rows) -> the response's value


type PagePart = Callable[[list[Row], bool, bool], Any]  # (the rows shown, a next page?, a previous page?) -> value


def constant(value: Any) -> Shape:
    return lambda row: value


def page_constant(value: Any) -> PagePart:
    return lambda shown, more, has_previous: value


def cursor(row: Row) -> str:
    return encode_cursor(row[0])


PAGE_INFO: dict[str, PagePart] = {
    "__typename": page_constant("PageInfo"),
    "hasNextPage": lambda shown, more, has_previous: more,
    "hasPreviousPage": lambda shown, more, has_previous: has_previous,
    "startCursor": lambda shown, more, has_previous: encode_cursor(shown[0][0]) if shown else None,
    "endCursor": lambda shown, more, has_previous: encode_cursor(shown[-1][0]) if shown else None,
}


def value(index: int, convert: Shape, *, nullable: bool) -> Shape:
    def get(row: Row) -> Any:
        found = row[index]
        if found is None:
            if nullable:
                return None
            raise Unconvertible(f"null for a non-null field at {index}")
        return convert(found)

    return get


def many(shape: Shape) -> Shape:
    return lambda rows: [shape(row) for row in rows]


def nullable(shape: Shape) -> Shape:
    return lambda row: None if row is None else shape(row)


def at(index: int, shape: Shape) -> Shape:
    return lambda values: shape(values[index])


def obj(fields: list[tuple[str, Shape]]) -> Shape:
    return lambda row: {key: get(row) for key, get in fields}


# The leads of a compiled answer (Stop.lead): the first walk over the statement's JSON collects their ids, the
# second answers them from the records read meanwhile (resolvers/compiled/run.py).
_leads: ContextVar[list[str] | dict[str, Any]] = ContextVar("compiled_leads")


@contextmanager
def leads(found: list[str] | dict[str, Any]) -> Iterator[None]:
    """Shape with `found`: a list collects the leads' ids (the leads shape as None), a dict by id answers them."""
    token = _leads.set(found)
    try:
        yield
    finally:
        _leads.reset(token)


def lead(index: int, shape: Shape) -> Shape:
    """A stop's lead, from its `lead_id` at `index` (nullable: a missing lead, or one the caller may not see)."""

    def get(row: Row) -> Any:
        lead_id = row[index]
        if lead_id is None:
            return None
        found = _leads.get()
        if isinstance(found, list):
            found.append(lead_id)
            return None
        record = found.get(lead_id)
        return None if record is None else shape(record)

    return get


def attribute(name: str, convert: Shape, *, nullable: bool) -> Shape:
    """A field of a record (a lead's), by attribute."""

    def get(record: Any) -> Any:
        found = getattr(record, name)
        if found is None:
            if nullable:
                return None
            raise Unconvertible(f"null for the non-null {name}")
        return convert(found)

    return get
