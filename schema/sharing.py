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

The shared execution starts as an eager task (resolvers/shared.py): one that waits on no store is done before
the next subscriber looks, and that one takes the result as a value, without parking behind a shield and being
woken again. A subscriber whose event is already executed gets no per-event executor at all (graphql-core
copies the subscription's executor for each event): `build_per_event_executor` hands it the shared result.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from graphql import FieldNode, OperationDefinitionNode, VariableNode, Visitor, visit

from resolvers.shared import settled, shared_future
from schema.slotted_executor import SlottedExecutor

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


class _Settled:
    """The per-event executor of an event whose shared execution is already under way: no copy of the
    subscription's executor, only its result."""

    __slots__ = ("shared",)

    def __init__(self, shared: Any) -> None:
        self.shared = shared

    def execute_operation(self, serially: bool | None = None) -> Any:
        shared = self.shared
        return settled(shared) if isinstance(shared, asyncio.Future) else shared


_NO_VARIABLES = orjson.dumps({})


class SharedEventExecutor(SlottedExecutor):
    # the subscription's key, found on its first event and kept for the others: a slot (8 bytes) now that the
    # executor has no dict, where an attribute of its own once cost 3.8 KB per subscription
    __slots__ = ("_found_key",)
    _found_key: tuple[int, bytes]

    def _key(self) -> tuple[int, bytes]:
        try:
            return self._found_key
        except AttributeError:  # not found yet (a per-event copy does not take it over: SlottedExecutor.__copy__)
            pass
        operation = self.operation
        names = event_variables(operation, self.fragment_definitions)
        if not names:  # a document whose events read no variable (most) needs no encoding at all
            key = id(operation), _NO_VARIABLES
        else:
            values = self.variable_values.coerced
            used = {name: values.get(name) for name in names}
            key = id(operation), orjson.dumps(used, option=orjson.OPT_SORT_KEYS, default=repr)
        self._found_key = key
        return key

    def build_per_event_executor(self, payload: Any) -> Any:
        executions: Executions | None = getattr(payload, "shared_executions", None)
        if executions is not None:
            found = executions.get(self._key())
            if found is not None and found[0] is self.operation:
                return _Settled(found[1])
        return super().build_per_event_executor(payload)

    def execute_operation(self, serially: bool | None = None) -> Any:
        executions: Executions | None = getattr(self.root_value, "shared_executions", None)
        if executions is None:
            return super().execute_operation(serially)
        operation = self.operation
        key = self._key()
        found = executions.get(key)
        if found is None or found[0] is not operation:
            result = super().execute_operation(serially)
            if self.is_awaitable(result):
                result = shared_future(result)
            executions[key] = found = (operation, result)
        return _Settled(found[1]).execute_operation(serially)
