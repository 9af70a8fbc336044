"""Typed errors that mutations return in their result union (expected failures are results)."""

from __future__ import annotations

import strawberry

from resolvers.results import Failure, FailureKind


@strawberry.interface
class UserError:
    message: str


@strawberry.type(description="An input value was refused; `field` is its path in the arguments.")
class ValidationError(UserError):
    field: str


@strawberry.type(description="An id in the input names nothing in the caller's account.")
class NotFoundError(UserError):
    field: str


@strawberry.type(description="The change would clash with existing data (a duplicate phone, plate or number).")
class ConflictError(UserError):
    field: str


@strawberry.type(description="A store could not take its part of the change; no store kept any of it.")
class StoreUnavailableError(UserError):
    store: str


@strawberry.type(description="The call was not placed; `message` says why (consent, do-not-call, calling hours).")
class CallRefusedError(UserError):
    field: str


@strawberry.type(description="The caller's role may not do this.")
class PermissionDeniedError(UserError):
    pass


@strawberry.type(description="The credentials were refused; `message` says why (the same for any wrong email or "
                             "password).")
class AuthenticationError(UserError):
    pass


@strawberry.type(description="Too many failed sign-ins for this email; try again after `retryAfterSeconds`.")
class TooManyAttemptsError(UserError):
    retry_after_seconds: int


MutationError = ValidationError | NotFoundError | ConflictError | StoreUnavailableError | PermissionDeniedError
AuthError = AuthenticationError | TooManyAttemptsError | ValidationError | ConflictError | StoreUnavailableError


def from_failure(failure: Failure) -> MutationError:
    match failure.kind:
        case FailureKind.validation | FailureKind.refused:
            # only calls are refused, and their union maps that first (`call_error`); elsewhere it is bad input
            return ValidationError(message=failure.message, field=failure.field or "input")
        case FailureKind.not_found:
            return NotFoundError(message=failure.message, field=failure.field or "id")
        case FailureKind.conflict:
            return ConflictError(message=failure.message, field=failure.field or "input")
        case FailureKind.unavailable:
            return StoreUnavailableError(message=failure.message, store=failure.store or "unknown")
        case FailureKind.forbidden | FailureKind.unauthenticated | FailureKind.locked:
            return PermissionDeniedError(message=failure.message)


def auth_error(failure: Failure) -> AuthError:
    match failure.kind:
        case FailureKind.unauthenticated:
            return AuthenticationError(message=failure.message)
        case FailureKind.locked:
            return TooManyAttemptsError(message=failure.message, retry_after_seconds=failure.retry_after or 0)
        case FailureKind.conflict:
            return ConflictError(message=failure.message, field=failure.field or "input")
        case FailureKind.unavailable:
            return StoreUnavailableError(message=failure.message, store=failure.store or "unknown")
        case _:
            return ValidationError(message=failure.message, field=failure.field or "input")



def call_error(failure: Failure) -> MutationError | CallRefusedError:
    if failure.kind is FailureKind.refused:
        return CallRefusedError(message=failure.message, field=failure.field or "leadId")
    return from_failure(failure)
