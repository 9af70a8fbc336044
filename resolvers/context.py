from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from datasources.calls.broker import StreamBroker
from datasources.instrument import StoreStats
from datasources.stores import Stores
from resolvers.calls.port import CallControl
from resolvers.fleet.port import FleetControl, PlannerControl
from resolvers.identity.config import AuthConfig
from resolvers.leads.projector import Projection
from resolvers.loaders import Loaders
from resolvers.permissions import Unauthenticated
from resolvers.principal import Principal


@dataclass
class RequestContext:
    """What every resolver gets: the caller, the stores, and this operation's own loaders.

    One is made per HTTP request, and per operation on a WebSocket (`for_operation`), so loader caches never
    outlive an operation; a subscription takes fresh loaders for each event (`fresh_loaders`).
    """

    stores: Stores
    principal: Principal | None
    max_page_size: int
    auth: AuthConfig = field(default_factory=AuthConfig)
    calls: CallControl | None = None
    events: StreamBroker | None = None
    # how a lead write waits for, and hands over to, the projector
    projection: Projection = field(default_factory=Projection)
    stats: StoreStats | None = None
    # why the credentials presented were refused (None: valid, or none given)
    auth_error: str | None = None
    # an HTTP operation's access token whose session marks are still to be checked: CostLimits checks them in
    # the round trip that takes its budget (ops/limits.py), anything that acts earlier by `settle_session`
    session_pending: bool = False
    # the prepared lane's admission of this HTTP operation (ops.limits.Admission), when it handed the operation
    # on to the full path after admitting it: CostLimits takes it instead of admitting the operation again
    admission: Any = None
    # the HTTP response Strawberry will send (its status code is ours to set); None on a WebSocket
    response: Any = None
    connection_params: dict[str, Any] | None = None
    # on a socket: gives back its place among the principal's open sockets when it closes
    release: Callable[[], None] = lambda: None
    # lead id -> fields of it this operation answered from Chroma or the graph while they lag behind MongoDB
    lagging: dict[str, list[str]] = field(default_factory=dict)
    # the route planner and the live fleet (fleet/), plugged in by ops like `calls`
    planner: PlannerControl | None = None
    fleet: FleetControl | None = None
    _loaders: Loaders | None = None

    @property
    def caller(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated(self.auth_error or "sign in first")
        return self.principal

    @property
    def account_id(self) -> int:
        return self.caller.account_id

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = Loaders(self.stores, self.caller)
        return self._loaders

    def note_lagging(self, lead_id: str, field_name: str) -> None:
        fields = self.lagging.setdefault(lead_id, [])
        if field_name not in fields:
            fields.append(field_name)

    def fresh_loaders(self) -> None:
        self._loaders = None

    def for_operation(self) -> RequestContext:
        return replace(self, stats=None, _loaders=None, lagging={})


def build_context(
    stores: Stores,
    principal: Principal | None,
    *,
    max_page_size: int,
    auth: AuthConfig | None = None,
    calls: CallControl | None = None,
    events: StreamBroker | None = None,
    projection: Projection | None = None,
    planner: PlannerControl | None = None,
    fleet: FleetControl | None = None,
) -> RequestContext:
    return RequestContext(stores, principal, max_page_size, auth or AuthConfig(), calls, events,
                          projection or Projection(), planner=planner, fleet=fleet)
