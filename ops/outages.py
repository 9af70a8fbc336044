"""A store outage answers as a typed error on the fields that needed the store; the rest of the response stands.

A field whose store cannot be reached fails with `extensions: {"code": "STORE_UNAVAILABLE", "store": NAME}` and a
message naming the store, instead of the driver's message (which would leak addresses and reads differently for
every client library). Fields that read another store are nullable in the schema, so the failure nulls only
them and their parent keeps its other fields: partial data, as GraphQL means it. The original error goes to the
log. The store names are those of `/health`: postgresql, mongodb, neo4j (the graph), redis, chroma.

Production's masking leaves these errors visible (`ops.graphql._expected`): they say nothing about the code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from datasources.outage import down_store

log = logging.getLogger("switchboard.outages")

CODE = "STORE_UNAVAILABLE"
WHAT = {"neo4j": "the graph (neo4j)", "chroma": "search (chroma)"}


def typed(error: GraphQLError) -> GraphQLError:
    """`error` as a STORE_UNAVAILABLE error when an unreachable store caused it; else unchanged."""
    cause = error.original_error
    store = down_store(cause) if cause is not None else None
    if store is None:
        return error
    log.warning("%s unavailable at %s: %s", store, ".".join(map(str, error.path or [])), cause)
    return GraphQLError(
        f"{WHAT.get(store, store)} is unavailable; the other fields of this response are unaffected, try again shortly",
        nodes=error.nodes, source=error.source, positions=error.positions, path=error.path,
        extensions={"code": CODE, "store": store},
    )


def _retype(result: object) -> None:
    errors = getattr(result, "errors", None)
    if result is not None and errors:
        result.errors = [typed(e) for e in errors]  # type: ignore[attr-defined]


class StoreOutages(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        _retype(self.execution_context.result)

    def on_stream_result(self, result: object) -> Iterator[None]:  # type: ignore[override]
        """Each event of a subscription (and each result over a streaming transport)."""
        _retype(result)
        yield
