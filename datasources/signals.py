"""What the layers tell the operator, as named signals (blinker): each layer sends, ops/metrics.py receives.

A signal's sender is its main label (a store, a reason, an event type); the rest travels as keyword arguments.
With no receiver connected a send costs a dictionary lookup, so the layers send unconditionally. This is the one
way numbers leave a layer: nothing below ops imports prometheus_client.

| signal               | sender              | keywords                             | sent by                         |
|----------------------|---------------------|--------------------------------------|---------------------------------|
| store-round-trip     | store               | operation, seconds                   | datasources.instrument          |
| operation-refused    | reason              |                                      | ops.limits                      |
| budget-level         | None                | available, capacity                  | ops.limits                      |
| projection-drift     | None                | counts {(store, kind): n}            | ops.reconcile                   |
| graphql-operation    | operation type      | name, outcome, seconds, error_codes  | ops.operations, ops.prepared    |
| prepared-operation   | "answered", "handed on" |                                  | ops.prepared                    |
| websocket            | "open" or "close"   |                                      | ops.hardening                   |
| subscription         | "start" or "stop"   | field                                | ops.operations                  |
| loader-batch         | loader name         | size                                 | resolvers.loaders               |
| loader-load          | loader name         | hit                                  | resolvers.loaders               |
| webhook-event        | event type          | result                               | ops.webhooks                    |
| call-transition      | state before        | to                                   | voice.service                   |
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Hashable
from types import MethodType
from typing import Any

from blinker import ANY, NamedSignal
from blinker.base import ANY_ID


class Signal(NamedSignal):
    """blinker's named signal, whose `send` walks a list kept from one connect or disconnect to the next, where
    blinker works it out on every send (a generator over the receivers' ids, a set union, `iscoroutinefunction`
    on each receiver): a request sends several, and that work was 3% of a small query's CPU. The list holds
    what blinker holds (a weak reference stays weak), and is kept only while every receiver is a plain function
    connected for any sender; otherwise, as when muted or given an `_async_wrapper`, blinker sends. A method held
    weakly is kept as a weak reference to its object and its function, and called as such: `WeakMethod` makes a
    bound method (in Python) on every call, and a loader sends once per key loaded."""

    def __init__(self, name: str, doc: str | None = None) -> None:
        super().__init__(name, doc)
        self._plain: tuple[Any, ...] | None = None  # None: to be worked out; () with no receivers

    def connect(self, receiver: Any, sender: Any = ANY, weak: bool = True) -> Any:
        self._plain = None
        return super().connect(receiver, sender, weak)

    def _disconnect(self, receiver_id: Hashable, sender_id: Hashable) -> None:
        self._plain = None  # also what a collected weak receiver's cleanup calls
        super()._disconnect(receiver_id, sender_id)

    def _clear_state(self) -> None:
        self._plain = None
        super()._clear_state()

    def send(self, sender: Any = None, /, *, _async_wrapper: Callable[..., Any] | None = None,
             **kwargs: Any) -> list[tuple[Callable[..., Any], Any]]:
        plain = self._plain
        if plain is None:
            plain = self._plain = self._plain_receivers()
        if plain is False or self.is_muted or _async_wrapper is not None:
            return super().send(sender, _async_wrapper=_async_wrapper, **kwargs)
        results = []
        for target, func in plain:
            if target is None:  # held strongly
                results.append((func, func(sender, **kwargs)))
                continue
            held = target()
            if held is None:  # collected: blinker's cleanup disconnects it
                continue
            if func is None:  # a function held weakly
                results.append((held, held(sender, **kwargs)))
            else:  # a method held weakly: its function called on its object, with no bound method made first
                results.append((MethodType(func, held), func(held, sender, **kwargs)))
        return results

    def _plain_receivers(self) -> Any:
        """(weak reference or None, function or None) per receiver, or False when a receiver is for a particular
        sender or a coroutine function."""
        if any(ids for sender_id, ids in self._by_sender.items() if sender_id != ANY_ID):
            return False
        plain: list[tuple[weakref.ref[Any] | None, Any]] = []
        for receiver_id in self._by_sender.get(ANY_ID, ()):
            entry = self.receivers.get(receiver_id)
            receiver: Any = entry() if isinstance(entry, weakref.ref) else entry
            if receiver is None:
                continue
            if inspect.iscoroutinefunction(receiver):
                return False
            if isinstance(entry, weakref.WeakMethod):
                plain.append((weakref.ref(receiver.__self__), receiver.__func__))
            elif isinstance(entry, weakref.ref):
                plain.append((entry, None))
            else:
                plain.append((None, entry))
        return tuple(plain)


store_round_trip = Signal("store-round-trip")
operation_refused = Signal("operation-refused")
budget_level = Signal("budget-level")
projection_drift = Signal("projection-drift")
graphql_operation = Signal("graphql-operation")
prepared_operation = Signal("prepared-operation")
websocket = Signal("websocket")
subscription = Signal("subscription")
loader_batch = Signal("loader-batch")
loader_load = Signal("loader-load")
webhook_event = Signal("webhook-event")
call_transition = Signal("call-transition")
