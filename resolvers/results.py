"""Expected failures of a mutation, returned (not raised) and mapped by the schema onto typed errors."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum

from resolvers.errors import InputError


class FailureKind(StrEnum):
    validation = "validation"
    not_found = "not_found"
    conflict = "conflict"
    unavailable = "unavailable"
    forbidden = "forbidden"
    refused = "refused"
    unauthenticated = "unauthenticated"
    locked = "locked"


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    message: str
    field: str | None = None
    store: str | None = None
    retry_after: int | None = None

    @classmethod
    def invalid(cls, field: str, message: str) -> Failure:
        return cls(FailureKind.validation, message, field=field)

    @classmethod
    def not_found(cls, field: str, what: str) -> Failure:
        return cls(FailureKind.not_found, f"{what} not found", field=field)

    @classmethod
    def conflict(cls, field: str, message: str) -> Failure:
        return cls(FailureKind.conflict, message, field=field)

    @classmethod
    def refused(cls, field: str, reason: str) -> Failure:
        return cls(FailureKind.refused, reason, field=field)

    @classmethod
    def forbidden(cls, message: str) -> Failure:
        return cls(FailureKind.forbidden, message)

    @classmethod
    def unauthenticated(cls, message: str) -> Failure:
        return cls(FailureKind.unauthenticated, message)

    @classmethod
    def locked(cls, message: str, retry_after: int) -> Failure:
        return cls(FailureKind.locked, message, retry_after=retry_after)

    @classmethod
    def unavailable(cls, store: str, error: BaseException) -> Failure:
        reason = str(error) or type(error).__name__
        return cls(FailureKind.unavailable, f"{store} is unavailable, nothing was changed: {reason}"[:500], store=store)


async def guarded[T](work: Awaitable[T | Failure]) -> T | Failure:
    """Runs a mutation's resolver; a malformed argument (an InputError) becomes a validation Failure."""
    try:
        return await work
    except InputError as exc:
        return Failure.invalid(exc.field, exc.reason)
