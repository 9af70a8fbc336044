"""Field permissions: `@strawberry.field(extensions=can(Action.read_calls))` answers FORBIDDEN for other roles.

A field extension of our own rather than Strawberry's PermissionExtension, whose `resolve_async(next_, source,
info, **kwargs)` clashes with fields that take an argument named `source` (`searchLeads(source:)`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strawberry.extensions.field_extension import FieldExtension
from strawberry.utils.await_maybe import await_maybe

from resolvers.permissions import Action, Forbidden, allowed


class Requires(FieldExtension):
    def __init__(self, action: Action) -> None:
        self.action = action

    def _check(self, info: Any) -> None:
        principal = info.context.caller  # raises UNAUTHENTICATED without one
        if not allowed(principal, self.action):
            raise Forbidden(self.action, principal)

    def resolve(self, next_: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._check(args[1])
        return next_(*args, **kwargs)

    async def resolve_async(self, next_: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._check(args[1])
        return await await_maybe(next_(*args, **kwargs))


def can(action: Action) -> list[FieldExtension]:
    return [Requires(action)]
