"""One execution of a subscription event for all the local subscribers who would get the same answer.

A subscription's source may yield, to many subscribers at once, the very same root object for one event (a
`CallEvent` made once per stream entry and data scope, resolvers/calls/subscriptions.py). Such a root carries a
`shared_executions` dict, and the executor below keeps in it the result of each (operation, event variables)
executed over it: the first subscriber with that document executes it (with its own context, whose loaders
answer for that data scope), and every other one awaits the same result instead of executing and resolving the
nested fields again. The result's `data` is then one object for all of them, which lets the socket encode it
once too (ops/frames.py).

Sharing needs the same parsed operation (the parser cache hands equal texts the same document) and the same
values of the variables the event's execution reads; the variables only the root field's arguments use (a
subscription's `after:` cursor, which differs between subscribers) decide the source, not the event's answer.
A root without `shared_executions` is executed as usual.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from graphql import FieldNode, OperationDefinitionNode, VariableNode, Visitor, visit
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

type Executions = dict[tuple[int, bytes], tuple[OperationDefinitionNode, Any]]


class _Variables(Visitor):
    """Counts the uses of each variable."""

    def __init__(self) -> None:
        super().__init__()
        self.uses: dict[str, int] = {}

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.uses[node.name.value] = self.uses.get(node.name.value, 0) + 1


def _uses(*nodes: Any) -> dict[str, int]:
    counter = _Variables()
    for node in nodes:
        visit(node, counter)
    return counter.uses


# operation -> the variables its events read; keyed by id, checked by identity (the parser cache keeps them alive)
_EVENT_VARIABLES: dict[int, tuple[OperationDefinitionNode, tuple[str, ...]]] = {}
_KEPT = 1024


def event_variables(operation: OperationDefinitionNode, fragments: dict[str, Any]) -> tuple[str, ...]:
    """The variables an event's execution reads: every use but those in the root fields' own arguments."""
    found = _EVENT_VARIABLES.get(id(operation))
    if found is not None and found[0] is operation:
        return found[1]
    uses = _uses(operation.selection_set, *fragments.values())
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            for name, count in _uses(*(selection.arguments or ())).items():
                uses[name] -= count
    names = tuple(sorted(name for name, count in uses.items() if count > 0))
    if len(_EVENT_VARIABLES) >= _KEPT:
        _EVENT_VARIABLES.clear()
    _EVENT_VARIABLES[id(operation)] = (operation, names)
    return names


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    def execute_operation(self, serially: bool | None = None) -> Any:
        executions: Executions | None = getattr(self.root_value, "shared_executions", None)
        if executions is None:
            return super().execute_operation(serially)
        operation = self.operation
        values = self.variable_values.coerced
        used = {name: values.get(name) for name in event_variables(operation, self.fragment_definitions)}
        key = (id(operation), orjson.dumps(used, option=orjson.OPT_SORT_KEYS, default=repr))
        found = executions.get(key)
        if found is None or found[0] is not operation:
            result = super().execute_operation(serially)
            if self.is_awaitable(result):
                result = asyncio.ensure_future(result)
            executions[key] = found = (operation, result)
        shared = found[1]
        # a subscriber that goes away while it waits must not cancel the execution the others wait for
        return asyncio.shield(shared) if isinstance(shared, asyncio.Future) else shared
