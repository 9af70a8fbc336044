"""A call record to JSON-ready values and back, driven by the dataclass's own type hints."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

from datasources.calls.model import Call

_PLAIN = frozenset({str, int, float, bool, type(None)})  # most of a call's fields: themselves, checked first


def _dump(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(_dump(v) for v in value)
    if isinstance(value, tuple | list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


@cache
def _loader(hint: Any) -> Callable[[Any], Any]:
    """What `hint` asks of a JSON value, worked out once per hint: a call is loaded on every webhook."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        return _or_none(_loader(inner[0]) if len(inner) == 1 else _same)
    if hint is datetime:
        return _or_none(datetime.fromisoformat)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _or_none(hint)
    if origin is frozenset:
        each = _loader(args[0])
        return _or_none(lambda value: frozenset(each(v) for v in value))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            item = _loader(args[0])
            return _or_none(lambda value: tuple(item(v) for v in value))
        items = [_loader(a) for a in args]
        return _or_none(lambda value: tuple(load(v) for load, v in zip(items, value, strict=True)))
    if origin is dict:
        entry = _loader(args[1])
        return _or_none(lambda value: {k: entry(v) for k, v in value.items()})
    return _same


def _same(value: Any) -> Any:
    return value


def _or_none(load: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else load(value)


@cache
def _loaders() -> dict[str, Callable[[Any], Any]]:
    hints = typing.get_type_hints(Call)
    return {f.name: _loader(hints[f.name]) for f in dataclasses.fields(Call)}


@cache
def _names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(Call))


def dump_call(call: Call) -> dict[str, Any]:
    return {name: _dump(getattr(call, name)) for name in _names()}


def load_call(data: dict[str, Any]) -> Call:
    loaders = _loaders()
    return Call(**{k: loaders[k](v) for k, v in data.items() if k in loaders})
