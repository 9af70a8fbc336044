"""Which store an exception says is down.

Every adapter function runs under `instrument.round_trip(store)`, which notes the store on any exception that
leaves it (`mark`). `down_store(exc)` answers the store's name when the exception, or one it was raised from,
is a failure to reach that store: a refused or reset connection, a timeout, a server shutting down. Any other
error (a bad query, a constraint, a bug) answers None, so it is never dressed up as an outage.

The store is read from the note rather than from the exception's type because two stores share a client: the
graph (FalkorDB) and Redis both speak RESP through redis-py.
"""

from __future__ import annotations

import asyncpg
import httpx
import neo4j.exceptions
import pymongo.errors
import redis.exceptions
import sqlalchemy.exc

NOTE = "switchboard store: "

# Failures to reach a server, per client library; OSError covers refused connections and missing sockets.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    pymongo.errors.ConnectionFailure,
    httpx.TransportError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    neo4j.exceptions.ServiceUnavailable,
    neo4j.exceptions.SessionExpired,
)


def mark(exc: BaseException, store: str) -> None:
    """Note `store` on `exc` unless an inner round trip already named one."""
    if _noted(exc) is None:
        exc.add_note(NOTE + store)


def _noted(exc: BaseException) -> str | None:
    for note in getattr(exc, "__notes__", ()):
        if note.startswith(NOTE):
            return str(note[len(NOTE):])
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def down_store(exc: BaseException) -> str | None:
    """The store `exc` failed to reach, or None when it is not an outage (or not from a store)."""
    chain = _chain(exc)
    store = next((s for e in chain if (s := _noted(e)) is not None), None)
    if store is None:
        return None
    if any(isinstance(e, UNREACHABLE) or _invalidated(e) for e in chain):
        return store
    return None


def _invalidated(exc: BaseException) -> bool:
    """SQLAlchemy flags an error that lost its connection, whatever the driver's own exception was."""
    return isinstance(exc, sqlalchemy.exc.DBAPIError) and bool(exc.connection_invalidated)

