"""Shaping a compiled statement's decoded JSON into the response's data: one small function per field, made
once per plan, so an answer is a walk over arrays into dicts in the selection's order."""

from __future__ import annotations

from collections.abc import Callable
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
