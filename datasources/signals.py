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

from blinker import Namespace

_switchboard = Namespace()

store_round_trip = _switchboard.signal("store-round-trip")
operation_refused = _switchboard.signal("operation-refused")
budget_level = _switchboard.signal("budget-level")
projection_drift = _switchboard.signal("projection-drift")
graphql_operation = _switchboard.signal("graphql-operation")
prepared_operation = _switchboard.signal("prepared-operation")
websocket = _switchboard.signal("websocket")
subscription = _switchboard.signal("subscription")
loader_batch = _switchboard.signal("loader-batch")
loader_load = _switchboard.signal("loader-load")
webhook_event = _switchboard.signal("webhook-event")
call_transition = _switchboard.signal("call-transition")
