"""Every GraphQL operation, told to the metrics: its type, name, outcome, time and error codes, and the
subscriptions open by field. Sends `graphql-operation` and `subscription` (datasources.signals).

Operation names come from clients, so they are bounded here: the first `MAX_NAMES` distinct names keep their
own label, later ones count as `other`, anonymous operations as `anonymous`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from datasources import signals

MAX_NAMES = 200
_names: set[str] = set()


def bounded_name(name: str | None) -> str:
    if not name:
        return "anonymous"
    if name in _names:
        return name
    if len(_names) < MAX_NAMES:
        _names.add(name)
        return name
    return "other"


def error_code(error: GraphQLError) -> str:
    """`extensions.code`, else what kind of error it is: a rejected document or an unexpected failure."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    return "GRAPHQL_VALIDATION_FAILED" if error.original_error is None else "INTERNAL_SERVER_ERROR"


def _kind(context: ExecutionContext) -> str:
    try:
        return context.operation_type.value
    except Exception:  # no document, or no operation of that name: nothing to classify
        return "unknown"


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        self.subscribed: str | None = None
        try:
            yield
        finally:
            self._report(time.perf_counter() - started)

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        if _kind(context) == OperationType.SUBSCRIPTION.value and not context.pre_execution_errors:
            self.subscribed = self._root_field()
            signals.subscription.send("start", field=self.subscribed)

    def _root_field(self) -> str:
        document = self.execution_context.graphql_document
        for definition in document.definitions if document else ():
            if isinstance(definition, OperationDefinitionNode) and definition.selection_set.selections:
                first = definition.selection_set.selections[0]
                return getattr(getattr(first, "name", None), "value", "unknown")
        return "unknown"

    def _report(self, seconds: float) -> None:
        context = self.execution_context
        if self.subscribed is not None:
            signals.subscription.send("stop", field=self.subscribed)
        result = context.result
        errors = list(getattr(result, "errors", None) or context.pre_execution_errors or [])
        data = getattr(result, "data", None)
        outcome = "ok" if not errors else ("partial" if data else "error")
        kind = _kind(context)
        signals.graphql_operation.send(
            kind, name=bounded_name(context.operation_name), outcome=outcome,
            seconds=None if self.subscribed is not None else seconds,
            error_codes=[error_code(e) for e in errors],
        )
