"""A call record to JSON-ready values and back, driven by the dataclass's own type hints."""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

from datasources.calls.model import Call


def _dump(value: Any) -> Any:
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


def _load(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        return _load(inner[0], value) if len(inner) == 1 else value
    if hint is datetime:
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if origin is frozenset:
        return frozenset(_load(args[0], v) for v in value)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_load(args[0], v) for v in value)
        return tuple(_load(a, v) for a, v in zip(args, value, strict=True))
    if origin is dict:
        return {k: _load(args[1], v) for k, v in value.items()}
    return value


@cache
def _hints() -> dict[str, Any]:
    return typing.get_type_hints(Call)


def dump_call(call: Call) -> dict[str, Any]:
    return {f.name: _dump(getattr(call, f.name)) for f in dataclasses.fields(call)}


def load_call(data: dict[str, Any]) -> Call:
    hints = _hints()
    known = {f.name for f in dataclasses.fields(Call)}
    return Call(**{k: _load(hints[k], v) for k, v in data.items() if k in known})
