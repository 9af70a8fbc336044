"""Turns a create/update input (plain values keyed by snake_case name) into checked MongoDB fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from resolvers.errors import InputError
from resolvers.ids import decode_int
from resolvers.leads import validate
from resolvers.results import Failure

CHECKS: dict[str, Callable[[Any], Any]] = {
    "first_name": validate.name,
    "last_name": validate.optional_name,
    "phone": validate.phone,
    "email": validate.email,
    "timezone": validate.timezone,
    "tags": validate.tags,
    "notes": validate.notes,
    "score": validate.score,
    "owner_id": lambda v: decode_int(v, "User", field="input.ownerId"),
}
# input objects whose every text field is a short detail
DETAILS = ("company", "qualification")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def checked(values: dict[str, Any], *, prefix: str = "input") -> dict[str, Any] | Failure:
    """Every given value checked and normalised; the first bad one becomes a Failure naming `input.field`."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in DETAILS and isinstance(value, dict):
            group = checked_details(value, prefix=f"{prefix}.{camel(key)}")
            if isinstance(group, Failure):
                return group
            out[key] = group
            continue
        if key == "consent" and isinstance(value, dict):
            # a flag given as null is a flag not given: unchanged on update, false on create
            out[key] = {flag: v for flag, v in value.items() if v is not None}
            continue
        check = CHECKS.get(key)
        if value is None or check is None:
            out[key] = value
            continue
        try:
            out[key] = check(value)
        except ValueError as exc:
            return Failure.invalid(f"{prefix}.{camel(key)}", str(exc))
        except InputError as exc:
            return Failure.invalid(exc.field, exc.reason)
    return out


def checked_details(values: dict[str, Any], *, prefix: str) -> dict[str, Any] | Failure:
    out: dict[str, Any] = {}
    for key, value in values.items():
        try:
            out[key] = validate.detail(value) if isinstance(value, str) else value
        except ValueError as exc:
            return Failure.invalid(f"{prefix}.{camel(key)}", str(exc))
    return out
