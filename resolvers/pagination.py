"""Relay pagination: page-size checks and opaque cursors."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from resolvers.errors import InputError


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    cursors: list[str]
    has_next: bool
    has_previous: bool


def check_first(first: int, maximum: int, *, field: str = "first") -> int:
    if not 1 <= first <= maximum:
        raise InputError(field, f"must be between 1 and {maximum}, got {first}")
    return first


def encode_cursor(*parts: Any) -> str:
    values = [{"$dt": p.isoformat()} if isinstance(p, datetime) else p for p in parts]
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str, *, arity: int, field: str = "after") -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise InputError(field, f"{cursor!r} is not a cursor from this list") from None
    if not isinstance(values, list) or len(values) != arity:
        raise InputError(field, f"{cursor!r} is not a cursor from this list")
    try:
        return [datetime.fromisoformat(v["$dt"]) if isinstance(v, dict) and "$dt" in v else v for v in values]
    except (TypeError, ValueError):  # a forged cursor with a bad date inside
        raise InputError(field, f"{cursor!r} is not a cursor from this list") from None


def page[T](items: list[T], limit: int, cursor_of: Any, *, has_previous: bool) -> Page[T]:
    """`items` was fetched with `limit + 1` rows: the extra one only says there is a next page."""
    shown = items[:limit]
    return Page(shown, [cursor_of(item) for item in shown], len(items) > limit, has_previous)
